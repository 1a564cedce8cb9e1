from __future__ import annotations

import numpy as np
import pytest

from netloupe._optional import MissingDependency
from netloupe.errors import InputError
from netloupe.internals.embed import PCA, TSNE, UMAP, make_embedding
from netloupe.internals.neighbors import NearestNeighbors, knn_accuracy


def _anisotropic(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    axis = np.array([3.0, 4.0, 0.0]) / 5.0
    x = rng.normal(size=(n, 1)) * 10 * axis + rng.normal(size=(n, 3)) * 0.1 + 7.0
    return x, axis


def test_pca_recovers_known_axis_and_matches_svd_and_sklearn() -> None:
    from sklearn.decomposition import PCA as SkPCA

    x, axis = _anisotropic()
    pca = PCA(2).fit(x)
    assert abs(abs(pca.components_[0] @ axis) - 1.0) < 1e-3
    assert pca.explained_variance_ratio_[0] > 0.99
    # independent computation: SVD of the centred data
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    ref = centred @ vt[:2].T
    np.testing.assert_allclose(np.abs(pca.embedding_), np.abs(ref), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(pca.transform(x[:5]), SkPCA(2).fit(x).transform(x[:5]), rtol=1e-4, atol=1e-4)


def test_pca_contract_and_errors() -> None:
    with pytest.raises(InputError, match=r"not fitted yet"):
        PCA().transform(np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"n_components: expected 1..2"):
        PCA(3).fit(np.zeros((2, 5)))
    est = make_embedding("pca", n_components=1)
    assert est.fit(np.random.rand(10, 4)) is est
    with pytest.raises(InputError, match=r"method: expected one of pca, tsne, umap"):
        make_embedding("isomap")


def test_tsne_separates_two_clusters_and_checks_perplexity() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (60, 10)), rng.normal(8, 1, (60, 10))])
    labels = np.repeat([0, 1], 60)
    est = TSNE(perplexity=10, n_iter=150, early_exaggeration_iter=60)
    emb = est.fit_transform(x)
    assert emb.shape == (120, 2)
    assert np.isfinite(emb).all()
    _, idx = NearestNeighbors(5).fit(emb).kneighbors()
    assert knn_accuracy(labels[idx], labels) == 1.0
    with pytest.raises(InputError, match=r"perplexity 30 .* needs at least 92 points, got 50"):
        TSNE(perplexity=30).fit(x[:50])
    with pytest.raises(InputError, match=r"not fitted yet"):
        TSNE()._check_fitted()


def test_umap_missing_gives_install_hint() -> None:
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependency, match=r"method: 'umap' needs umap-learn: pip install 'netloupe\[umap\]'"):
            UMAP().fit(np.random.rand(30, 4))
    else:  # pragma: no cover - only where umap-learn is installed
        assert UMAP(n_neighbors=5).fit_transform(np.random.rand(30, 4)).shape == (30, 2)
