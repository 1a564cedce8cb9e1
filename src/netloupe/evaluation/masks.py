"""Mask metrics: energy inside the mask, IoU at the best threshold, PxAP.

Maps ``(N, H, W)`` and masks ``(N, H, W)`` (bool) share the image's pixel grid. Rates are fractions.
(``netloupe.evaluation.energy`` covers the medical "share of energy inside regions" views;
:func:`energy_in_mask` uses its definition: positive map mass inside over positive mass overall.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..errors import InputError
from .energy import energy_share

__all__ = ["MaskAccumulator", "best_threshold_iou", "energy_in_mask", "mask_iou"]


def _check(maps: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    if maps.ndim != 3:
        raise InputError(f"maps: expected (N, H, W), got {tuple(maps.shape)}")
    if masks.shape != maps.shape:
        raise InputError(f"masks: expected shape {tuple(maps.shape)} like maps, got {tuple(masks.shape)}")
    return maps.float(), masks.to(maps.device).bool()


def energy_in_mask(maps: Tensor, masks: Tensor) -> Tensor:
    """Share of the map's energy inside the mask ("energy-based pointing game", Wang et al. 2020, Score-CAM).

    ``E = Σ_{p ∈ mask} max(M_p, 0) / Σ_p max(M_p, 0)``, per sample ``(N,)``. One definition with
    :func:`netloupe.evaluation.energy.energy_share` (which this calls): a map with no positive energy
    has no share, NaN. :class:`MaskAccumulator` counts such maps as 0 in its mean (no credit).
    """
    m, k = _check(maps, masks)
    return energy_share(m, k, spatial=2, relu=True)


def mask_iou(pred: Tensor, masks: Tensor) -> Tensor:
    """IoU of binary masks ``(..., H, W)``: ``|P ∩ G| / |P ∪ G|`` per sample; 0 when both are empty."""
    p, g = pred.bool(), masks.to(pred.device).bool()
    inter = (p & g).flatten(-2).sum(-1).float()
    union = (p | g).flatten(-2).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(union))


def best_threshold_iou(maps: Tensor, masks: Tensor, thresholds: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Per-sample best IoU between ``M > τ`` (maps min-max normalised to [0, 1]) and the mask.

    Returns ``(iou (N,), threshold (N,))`` maximised over ``thresholds`` (default 0, 0.01, ..., 0.99).
    """
    m, k = _check(maps, masks)
    m = _minmax(m)
    thr = (torch.arange(0, 100, device=m.device) / 100.0) if thresholds is None else thresholds.to(m.device)
    iou = mask_iou(m[:, None] > thr[None, :, None, None], k[:, None])  # (N, T)
    best, where = iou.max(1)
    return best, thr[where]


def _minmax(m: Tensor) -> Tensor:
    lo = m.amin(dim=(-2, -1), keepdim=True)
    hi = m.amax(dim=(-2, -1), keepdim=True)
    return torch.where(hi > lo, (m - lo) / (hi - lo).clamp(min=1e-12), torch.zeros_like(m))


@dataclass
class MaskAccumulator:
    """Dataset-level mask metrics: PxAP and PIoU (Choe et al. 2020) and mean energy inside the mask.

    Maps are min-max normalised per sample. For each threshold τ (``bins`` equal steps in [0, 1)) the
    pixels with ``M > τ`` are predicted foreground, pooled over the whole dataset:
    ``P(τ) = TP/(TP+FP)``, ``R(τ) = TP/(TP+FN)``, and

        ``PxAP = Σ_k P(τ_k) (R(τ_k) - R(τ_{k+1}))`` (τ ascending, ``R`` after the last threshold = 0),
        ``PIoU = max_τ TP/(TP+FP+FN)``.

    Counting uses histograms of the map values of mask and background pixels, so memory is O(bins).
    """

    bins: int = 100
    n: int = 0
    _pos: Tensor | None = None
    _neg: Tensor | None = None
    _energy: list[float] = field(default_factory=list)

    def update(self, maps: Tensor, masks: Tensor) -> Tensor:
        """Add a batch; returns the per-sample energy inside the mask ``(N,)`` (0 for empty maps)."""
        m, k = _check(maps, masks)
        energy = torch.nan_to_num(energy_in_mask(m, k), nan=0.0)  # an empty map earns no credit
        m = _minmax(m)
        # bin b holds values in (b/bins, (b+1)/bins]; value 0 goes to bin -1 (never foreground) -> index 0 of
        # a (bins + 1) histogram shifted by one
        idx = torch.ceil(m * self.bins).long().clamp(0, self.bins)  # 0..bins; M > τ_b  <=>  idx > b
        pos = torch.bincount(idx[k], minlength=self.bins + 1).cpu()
        neg = torch.bincount(idx[~k], minlength=self.bins + 1).cpu()
        self._pos = pos if self._pos is None else self._pos + pos
        self._neg = neg if self._neg is None else self._neg + neg
        self._energy.extend(energy.tolist())
        self.n += int(m.shape[0])
        return energy

    def curves(self) -> dict[str, Tensor]:
        """Thresholds, precision, recall and IoU at each threshold (``bins`` values each)."""
        if self._pos is None or self._neg is None:
            raise InputError("MaskAccumulator: no samples were added")
        pos, neg = self._pos.double(), self._neg.double()
        # TP(τ_b) = number of mask pixels with idx > b, b = 0..bins-1
        tp = pos.flip(0).cumsum(0).flip(0)[1:]
        fp = neg.flip(0).cumsum(0).flip(0)[1:]
        p_total = pos.sum()
        fn = p_total - tp
        precision = torch.where(tp + fp > 0, tp / (tp + fp).clamp(min=1), torch.ones_like(tp))
        recall = tp / p_total.clamp(min=1)
        iou = tp / (tp + fp + fn).clamp(min=1)
        thresholds = torch.arange(self.bins, dtype=torch.float64) / self.bins
        return {"threshold": thresholds, "precision": precision, "recall": recall, "iou": iou}

    def compute(self) -> dict[str, float]:
        """``pxap``, ``piou``, ``piou_threshold``, ``energy_in_mask`` (mean) and ``n``."""
        c = self.curves()
        recall_next = torch.cat([c["recall"][1:], c["recall"].new_zeros(1)])
        pxap = float((c["precision"] * (c["recall"] - recall_next)).sum())
        best, where = c["iou"].max(0)
        return {
            "pxap": pxap,
            "piou": float(best),
            "piou_threshold": float(c["threshold"][where]),
            "energy_in_mask": float(torch.tensor(self._energy).mean()),
            "n": float(self.n),
        }
