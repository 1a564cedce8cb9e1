from __future__ import annotations

import numpy as np
import pytest

from netloupe.errors import InputError
from netloupe.internals.neighbors import (
    NearestNeighbors,
    compare_spaces,
    knn_accuracy,
    knn_label_agreement,
)

LINE = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])


def test_leave_one_out_order_and_distances_on_a_line() -> None:
    dist, idx = NearestNeighbors(3).fit(LINE).kneighbors()
    assert idx.tolist() == [[1, 2, 3], [0, 2, 3], [1, 0, 3], [2, 1, 0], [3, 2, 1]]
    np.testing.assert_allclose(dist[2], [2.0, 3.0, 4.0], atol=1e-5)
    np.testing.assert_allclose(dist[4], [8.0, 12.0, 14.0], atol=1e-4)


def test_queries_and_small_batches_give_the_same_answer() -> None:
    nn_ = NearestNeighbors(2, batch_size=1).fit(LINE)
    dist, idx = nn_.kneighbors(np.array([[6.0], [-5.0]]))
    assert idx.tolist() == [[3, 2], [0, 1]]
    np.testing.assert_allclose(dist, [[1.0, 3.0], [5.0, 6.0]], atol=1e-5)


def test_cosine_ranks_by_angle_not_length() -> None:
    angles = np.deg2rad([0.0, 10.0, 45.0, 90.0])
    pts = np.stack([np.cos(angles), np.sin(angles)], 1) * np.array([[1.0], [50.0], [0.1], [3.0]])
    dist, idx = NearestNeighbors(3, metric="cosine").fit(pts).kneighbors(np.array([[2.0, 0.0]]))
    assert idx.tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(dist[0], 1 - np.cos(np.deg2rad([0.0, 10.0, 45.0])), atol=1e-6)


def test_agrees_with_scikit_learn_on_random_points() -> None:
    from sklearn.neighbors import NearestNeighbors as SkNN

    x = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    q = np.random.default_rng(1).normal(size=(30, 16)).astype(np.float32)
    d, i = NearestNeighbors(7, batch_size=8).fit(x).kneighbors(q)
    sd, si = SkNN(n_neighbors=7).fit(x).kneighbors(q)
    assert (i == si).all()
    np.testing.assert_allclose(d, sd, rtol=1e-4, atol=1e-4)


def test_too_few_points_and_unfitted_are_clear_errors() -> None:
    with pytest.raises(InputError, match=r"5 neighbours need at least 6 reference points.*got 5"):
        NearestNeighbors(5).fit(LINE).kneighbors()
    with pytest.raises(InputError, match=r"not fitted yet"):
        NearestNeighbors(2).kneighbors(LINE)
    with pytest.raises(InputError, match=r"metric: expected one of l2, cosine"):
        NearestNeighbors(2, metric="manhattan")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"NaN"):
        NearestNeighbors(1).fit(np.array([[np.nan], [1.0]]))


def test_label_agreement_and_majority_vote_by_hand() -> None:
    nl = np.array([[1, 1, 0], [2, 0, 0], [0, 2, 2], [3, 4, 5]])
    ql = np.array([1, 2, 2, 5])
    assert knn_label_agreement(nl, ql) == pytest.approx((2 + 1 + 2 + 1) / 12)
    # votes: 1 wins; 0 wins 2:1; 2 wins; three-way tie -> nearest (3) wins
    assert knn_accuracy(nl, ql) == pytest.approx(2 / 4)
    # two-way tie 1:1 (k=2): the nearer neighbour's label wins
    assert knn_accuracy(np.array([[4, 7]]), np.array([4])) == 1.0


def test_compare_spaces_prefers_the_space_where_labels_cluster() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 20)
    features = np.concatenate([rng.normal(0, 0.1, (20, 3)), rng.normal(5, 0.1, (20, 3))])
    pixels = rng.normal(size=(40, 3))
    comp = compare_spaces(features, pixels, labels, k=3)
    assert comp.feature_agreement == 1.0
    assert comp.feature_accuracy == 1.0
    assert comp.pixel_agreement < 0.8
    with pytest.raises(InputError, match=r"same number of points"):
        compare_spaces(features, pixels[:5], labels)
