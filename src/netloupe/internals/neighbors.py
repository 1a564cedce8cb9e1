"""Exact k nearest neighbours on the device, and how often neighbours share the query's label.

Krizhevsky et al. (2012, Fig. 4) show that images whose last-hidden-layer vectors are close in
Euclidean distance are semantically alike although their pixels are not. The number behind that figure
is the k-NN label agreement: for query ``q`` with neighbours ``N_k(q)``,
``agreement = mean_q |{j in N_k(q): y_j = y_q}| / k``, and the k-NN (majority-vote) accuracy
``mean_q [mode(y_j, j in N_k(q)) = y_q]`` (Cover & Hart 1967), computed in feature and in pixel space.

Distances: ``l2``: ``d(a, b) = ||a - b||_2`` evaluated as ``sqrt(|a|^2 + |b|^2 - 2 a.b)``;
``cosine``: ``d(a, b) = 1 - a.b / (|a| |b|)``. The search is brute force in query batches (a matrix
product per batch), exact, and runs wherever ``device`` says (a GPU makes 100k+ points quick).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from .._progress import track
from ..errors import InputError

__all__ = [
    "Metric",
    "NearestNeighbors",
    "NeighborComparison",
    "compare_spaces",
    "knn_accuracy",
    "knn_label_agreement",
]

Metric = Literal["l2", "cosine"]
_METRICS = ("l2", "cosine")
# Largest distance block (queries x references) materialised at once.
_BLOCK_ELEMENTS = 1 << 25


def _as_matrix(x: np.ndarray | Tensor, name: str) -> Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
    if t.ndim != 2:
        raise InputError(f"{name}: expected a 2-D (n_points, n_dims) array, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise InputError(f"{name}: contains NaN or infinite values")
    return t.float()


class NearestNeighbors:
    """Exact k-NN by batched brute force (scikit-learn's estimator contract: ``fit`` returns self).

    Args:
        n_neighbors: default number of neighbours.
        metric: ``"l2"`` or ``"cosine"``.
        device: where the search runs.
        batch_size: queries per block (reduced automatically so a block has at most 2^25 distances).

    Attributes:
        n_samples_fit_: number of reference points.
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        metric: Metric = "l2",
        device: str | torch.device = "cpu",
        batch_size: int = 1024,
    ) -> None:
        if metric not in _METRICS:
            raise InputError(f"metric: expected one of {', '.join(_METRICS)}, got {metric!r}")
        if n_neighbors < 1:
            raise InputError(f"n_neighbors: expected a positive integer, got {n_neighbors}")
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.device = device
        self.batch_size = batch_size

    def fit(self, X: np.ndarray | Tensor) -> NearestNeighbors:
        """Index the reference points ``X`` ``(n, d)``."""
        ref = _as_matrix(X, "X").to(self.device)
        if self.metric == "cosine":
            ref = torch.nn.functional.normalize(ref, dim=1)
        self._ref = ref
        self._ref_sq = ref.pow(2).sum(dim=1)
        self.n_samples_fit_ = int(ref.shape[0])
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_samples_fit_"):
            raise InputError("NearestNeighbors: this instance is not fitted yet; call fit(X) first")

    def kneighbors(
        self,
        X: np.ndarray | Tensor | None = None,
        n_neighbors: int | None = None,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the nearest reference points, nearest first, ``(q, k)`` each.

        With ``X=None`` the queries are the reference points themselves and a point is never its own
        neighbour (leave-one-out), as in scikit-learn.
        """
        self._check_fitted()
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        loo = X is None
        available = self.n_samples_fit_ - (1 if loo else 0)
        if k < 1 or k > available:
            raise InputError(
                f"n_neighbors: {k} neighbours need at least {k + (1 if loo else 0)} reference points"
                f"{' (each point is its own query and is skipped)' if loo else ''}; got {self.n_samples_fit_}"
            )
        if loo:
            queries = self._ref
        else:
            queries = _as_matrix(X, "X").to(self.device)  # type: ignore[arg-type]
            if queries.shape[1] != self._ref.shape[1]:
                raise InputError(f"X: queries have {queries.shape[1]} dims, the index has {self._ref.shape[1]}")
            if self.metric == "cosine":
                queries = torch.nn.functional.normalize(queries, dim=1)
        step = max(1, min(self.batch_size, _BLOCK_ELEMENTS // max(1, self.n_samples_fit_)))
        starts = range(0, queries.shape[0], step)
        dists, idxs = [], []
        for s in track(starts, len(starts), "neighbours", progress):
            q = queries[s : s + step]
            dot = q @ self._ref.T
            if self.metric == "l2":
                d = (q.pow(2).sum(dim=1, keepdim=True) + self._ref_sq[None] - 2 * dot).clamp_min(0)
            else:
                d = 1.0 - dot
            if loo:
                rows = torch.arange(q.shape[0], device=d.device)
                d[rows, rows + s] = float("inf")
            val, ind = torch.topk(d, k, dim=1, largest=False, sorted=True)
            dists.append(val.sqrt() if self.metric == "l2" else val)
            idxs.append(ind)
        return torch.cat(dists).cpu().numpy(), torch.cat(idxs).cpu().numpy()


def knn_label_agreement(neighbor_labels: np.ndarray, query_labels: np.ndarray) -> float:
    """Mean fraction of the k neighbours that share the query's label (precision at k)."""
    nl, ql = np.asarray(neighbor_labels), np.asarray(query_labels).ravel()
    if nl.ndim != 2 or nl.shape[0] != ql.shape[0]:
        raise InputError(f"neighbor_labels: expected (n_queries, k) for {ql.shape[0]} queries, got {nl.shape}")
    return float((nl == ql[:, None]).mean())


def knn_accuracy(neighbor_labels: np.ndarray, query_labels: np.ndarray) -> float:
    """Majority vote of the k neighbours' labels vs the query's label; ties go to the nearer neighbour."""
    nl, ql = np.asarray(neighbor_labels).astype(np.int64), np.asarray(query_labels).astype(np.int64).ravel()
    if nl.ndim != 2 or nl.shape[0] != ql.shape[0]:
        raise InputError(f"neighbor_labels: expected (n_queries, k) for {ql.shape[0]} queries, got {nl.shape}")
    k = nl.shape[1]
    n_classes = int(max(nl.max(), ql.max())) + 1
    # One vote each plus a bonus 2^-(r+2) for rank r: the bonuses sum to < 1/2, so they only break ties,
    # and a label holding the nearest tied neighbour always wins (binary weights order lexicographically).
    weights = 1.0 + 0.5 ** (np.arange(k) + 2.0)
    votes = np.zeros((nl.shape[0], n_classes))
    np.add.at(votes, (np.arange(nl.shape[0])[:, None], nl), weights[None, :])
    return float((votes.argmax(axis=1) == ql).mean())


@dataclass
class NeighborComparison:
    """Leave-one-out neighbours of every point in feature space and in pixel space."""

    k: int
    metric: str
    feature_indices: np.ndarray
    pixel_indices: np.ndarray
    feature_agreement: float
    pixel_agreement: float
    feature_accuracy: float
    pixel_accuracy: float

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "k": self.k,
            "metric": self.metric,
            "feature_agreement": self.feature_agreement,
            "pixel_agreement": self.pixel_agreement,
            "feature_knn_accuracy": self.feature_accuracy,
            "pixel_knn_accuracy": self.pixel_accuracy,
        }


def compare_spaces(
    features: np.ndarray,
    pixels: np.ndarray,
    labels: np.ndarray,
    k: int = 5,
    metric: Metric = "l2",
    device: str | torch.device = "cpu",
) -> NeighborComparison:
    """k-NN (leave-one-out) in both spaces and the label agreement / accuracy of each."""
    labels = np.asarray(labels).ravel()
    if not (len(features) == len(pixels) == len(labels)):
        raise InputError(
            f"features, pixels, labels: expected the same number of points, got {len(features)}, "
            f"{len(pixels)}, "
            f"{len(labels)}"
        )
    _, fi = NearestNeighbors(k, metric, device).fit(features).kneighbors()
    _, pi = NearestNeighbors(k, metric, device).fit(pixels).kneighbors()
    return NeighborComparison(
        k=k,
        metric=metric,
        feature_indices=fi,
        pixel_indices=pi,
        feature_agreement=knn_label_agreement(labels[fi], labels),
        pixel_agreement=knn_label_agreement(labels[pi], labels),
        feature_accuracy=knn_accuracy(labels[fi], labels),
        pixel_accuracy=knn_accuracy(labels[pi], labels),
    )
