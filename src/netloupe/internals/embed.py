"""2-D maps of a feature space: PCA, t-SNE and UMAP behind one estimator interface.

* PCA (Pearson 1901; Hotelling 1933): project the centred data on the top eigenvectors of its covariance,
  ``Y = (X - mean) V_k``; wraps :class:`sklearn.decomposition.PCA`.
* t-SNE (van der Maaten & Hinton 2008): match Student-t similarities ``q_ij ~ (1 + |y_i - y_j|^2)^-1`` in 2-D
  to perplexity-calibrated Gaussian affinities ``p_ij`` in feature space by minimising ``KL(P || Q)``;
  wraps openTSNE (Poličar et al. 2024) with its FFT-accelerated gradient (Linderman et al. 2019), which
  scales to 100k+ points. The ``3 * perplexity`` nearest neighbours that define ``p_ij`` can come from
  openTSNE's own index or from netloupe's exact batched search on a device (``neighbors="exact"``).
* UMAP (McInnes et al. 2018): optional extra, imported lazily (``pip install 'netloupe[umap]'``).

All follow scikit-learn's contract: ``fit`` returns self, learned attributes end in ``_`` (``embedding_``),
and using an unfitted estimator raises a clear error.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from .._optional import require
from ..errors import InputError
from .neighbors import Metric, NearestNeighbors

__all__ = ["EMBEDDING_METHODS", "PCA", "TSNE", "UMAP", "make_embedding"]

EMBEDDING_METHODS = ("pca", "tsne", "umap")


def _check_X(X: Any, min_points: int, why: str) -> np.ndarray:
    arr = np.asarray(X)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    if arr.ndim != 2:
        raise InputError(f"X: expected a 2-D (n_points, n_dims) array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputError("X: contains NaN or infinite values")
    if arr.shape[0] < min_points:
        raise InputError(f"X: {why} needs at least {min_points} points, got {arr.shape[0]}")
    return arr


class _Embedding:
    """Shared estimator plumbing."""

    embedding_: np.ndarray

    def _check_fitted(self) -> None:
        if not hasattr(self, "embedding_"):
            raise InputError(f"{type(self).__name__}: this instance is not fitted yet; call fit(X) first")

    def fit(self, X: Any) -> _Embedding:
        raise NotImplementedError

    def fit_transform(self, X: Any) -> np.ndarray:
        """Fit on ``X`` and return its embedding ``(n, n_components)``."""
        self.fit(X)
        return self.embedding_


class PCA(_Embedding):
    """Principal component analysis (wraps scikit-learn).

    Attributes:
        components_: ``(n_components, d)`` principal axes.
        explained_variance_ratio_: variance fraction of each axis.
        mean_: the feature mean removed before projecting.
        embedding_: the fitted data projected, ``(n, n_components)``.
    """

    def __init__(self, n_components: int = 2, random_state: int | None = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: Any) -> PCA:
        SkPCA = require("sklearn.decomposition", "PCA").PCA

        arr = _check_X(X, 2, "PCA")
        if not 1 <= self.n_components <= min(arr.shape):
            raise InputError(
                f"n_components: expected 1..{min(arr.shape)} (min of points and dims), got {self.n_components}"
            )
        self._pca = SkPCA(n_components=self.n_components, random_state=self.random_state)
        self.embedding_ = self._pca.fit_transform(arr).astype(np.float32)
        self.components_ = self._pca.components_
        self.explained_variance_ratio_ = self._pca.explained_variance_ratio_
        self.mean_ = self._pca.mean_
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Project new points on the fitted axes."""
        self._check_fitted()
        return self._pca.transform(_check_X(X, 1, "PCA.transform")).astype(np.float32)


class TSNE(_Embedding):
    """t-SNE through openTSNE with the FFT gradient (see the module docstring).

    Args:
        n_components: output dimensions (the FFT method supports 1 or 2).
        perplexity: effective number of neighbours; needs more than ``3 * perplexity`` points.
        metric: ``"euclidean"`` or ``"cosine"``.
        neighbors: ``"exact"`` (netloupe's batched exact search on ``device``) or ``"auto"`` (openTSNE's
            choice: exact for small sets, Annoy above 1,000 points).
        n_iter: optimisation iterations after the early-exaggeration phase.
        early_exaggeration_iter: iterations of the early-exaggeration phase.
        gradient: ``"fft"`` (interpolation, O(n), for large sets), ``"bh"`` (Barnes-Hut, faster below a few
            thousand points) or ``"auto"`` (FFT from 5,000 points on, else Barnes-Hut).
        device: where the exact neighbour search runs.
        n_jobs: threads openTSNE may use.
        random_state: seed (PCA initialisation and Annoy).

    Attributes:
        embedding_: ``(n, n_components)``.
        kl_divergence_: the final KL divergence.
    """

    def __init__(
        self,
        n_components: int = 2,
        perplexity: float = 30.0,
        metric: Literal["euclidean", "cosine"] = "euclidean",
        neighbors: Literal["exact", "auto"] = "exact",
        n_iter: int = 500,
        early_exaggeration_iter: int = 250,
        gradient: Literal["auto", "fft", "bh"] = "auto",
        device: str | torch.device = "cpu",
        n_jobs: int = 1,
        random_state: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.perplexity = perplexity
        self.metric = metric
        self.neighbors = neighbors
        self.n_iter = n_iter
        self.early_exaggeration_iter = early_exaggeration_iter
        self.gradient = gradient
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: Any) -> TSNE:
        require("openTSNE", "t-SNE")
        from openTSNE import TSNE as OpenTSNE
        from openTSNE import affinity, initialization
        from openTSNE.nearest_neighbors import PrecomputedNeighbors

        if self.metric not in ("euclidean", "cosine"):
            raise InputError(f"metric: expected 'euclidean' or 'cosine', got {self.metric!r}")
        if self.neighbors not in ("exact", "auto"):
            raise InputError(f"neighbors: expected 'exact' or 'auto', got {self.neighbors!r}")
        if not self.perplexity > 0:
            raise InputError(f"perplexity: expected a positive number, got {self.perplexity}")
        need = int(np.floor(3 * self.perplexity)) + 2
        arr = _check_X(X, need, f"t-SNE with perplexity {self.perplexity:g} (3 x perplexity neighbours + the point)")
        k = min(arr.shape[0] - 1, int(np.floor(3 * self.perplexity)))
        if self.neighbors == "exact":
            metric: Metric = "l2" if self.metric == "euclidean" else "cosine"
            dist, idx = NearestNeighbors(k, metric, self.device).fit(arr).kneighbors()
            knn = PrecomputedNeighbors(idx.astype(np.int64), dist.astype(np.float64))
            aff = affinity.PerplexityBasedNN(
                perplexity=self.perplexity, knn_index=knn, n_jobs=self.n_jobs, random_state=self.random_state
            )
        else:
            aff = affinity.PerplexityBasedNN(
                arr,
                perplexity=self.perplexity,
                metric=self.metric,
                n_jobs=self.n_jobs,
                random_state=self.random_state,
            )
        init = initialization.pca(arr, n_components=self.n_components, random_state=self.random_state)
        if self.gradient not in ("auto", "fft", "bh"):
            raise InputError(f"gradient: expected 'auto', 'fft' or 'bh', got {self.gradient!r}")
        method = self.gradient if self.gradient != "auto" else ("fft" if arr.shape[0] >= 5000 else "bh")
        tsne = OpenTSNE(
            n_components=self.n_components,
            perplexity=self.perplexity,
            n_iter=self.n_iter,
            early_exaggeration_iter=self.early_exaggeration_iter,
            negative_gradient_method=method,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        emb = tsne.fit(affinities=aff, initialization=init)
        self.embedding_ = np.asarray(emb, dtype=np.float32)
        self.kl_divergence_ = float(getattr(emb, "kl_divergence", float("nan")))
        return self


class UMAP(_Embedding):
    """UMAP (McInnes et al. 2018) through the optional ``umap-learn`` package.

    Attributes:
        embedding_: ``(n, n_components)``.
    """

    def __init__(
        self,
        n_components: int = 2,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        metric: str = "euclidean",
        random_state: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.random_state = random_state

    def fit(self, X: Any) -> UMAP:
        umap = require("umap", "method: 'umap'")
        arr = _check_X(X, self.n_neighbors + 1, f"UMAP with n_neighbors={self.n_neighbors}")
        self._umap = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            metric=self.metric,
            random_state=self.random_state,
        )
        self.embedding_ = np.asarray(self._umap.fit_transform(arr), dtype=np.float32)
        return self

    def transform(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self._umap.transform(_check_X(X, 1, "UMAP.transform")), dtype=np.float32)


def make_embedding(method: str, **kwargs: Any) -> _Embedding:
    """``"pca"``, ``"tsne"`` or ``"umap"`` -> an unfitted estimator built with ``kwargs``."""
    classes: dict[str, type[_Embedding]] = {"pca": PCA, "tsne": TSNE, "umap": UMAP}
    if method not in classes:
        raise InputError(f"method: expected one of {', '.join(EMBEDDING_METHODS)}, got {method!r}")
    return classes[method](**kwargs)
