"""Localization metrics on boxes and masks: localization error, MaxBoxAccV2, pointing game.

Conventions: maps are ``(N, H, W)`` in image pixel coordinates, ground-truth boxes ``(N, M, 4)`` in the
box convention of :mod:`netloupe.evaluation.boxes` (padding rows are NaN or flagged False in
``gt_valid``), labels ``(N,)`` class indices. Rates are fractions in [0, 1]; tables print percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import torch
from torch import Tensor

from ..errors import InputError
from .boxes import CCBackend, box_iou, component_boxes, threshold_maps

__all__ = [
    "LocalizationAccumulator",
    "MaxBoxAccumulator",
    "PointingGameAccumulator",
    "best_box_iou",
    "localization_hits",
    "pointing_game_hits",
    "topk_correct",
]


def _valid(gt_boxes: Tensor, gt_valid: Tensor | None) -> Tensor:
    if gt_boxes.ndim != 3 or gt_boxes.shape[-1] != 4:
        raise InputError(f"gt_boxes: expected shape (N, M, 4), got {tuple(gt_boxes.shape)}")
    valid = torch.isfinite(gt_boxes).all(-1)
    if gt_valid is not None:
        valid = valid & gt_valid.to(valid.device).bool()
    return valid


def best_box_iou(pred_boxes: Tensor, gt_boxes: Tensor, gt_valid: Tensor | None = None) -> Tensor:
    """The best IoU of each sample's predicted box(es) with any of its ground-truth boxes.

    Args:
        pred_boxes: ``(N, 4)`` one box per sample, or ``(N, K, 4)`` several (e.g. all components).
        gt_boxes: ``(N, M, 4)``; rows that are NaN or False in ``gt_valid`` are padding.
        gt_valid: optional bool ``(N, M)``.

    Returns:
        ``(N,)`` ``max_{k, m} IoU(pred_k, gt_m)``; 0 for a sample without valid ground truth.
    """
    valid = _valid(gt_boxes, gt_valid)
    pred = pred_boxes if pred_boxes.ndim == 3 else pred_boxes.unsqueeze(1)
    if pred.shape[0] != gt_boxes.shape[0] or pred.shape[-1] != 4:
        raise InputError(
            f"pred_boxes: expected (N, 4) or (N, K, 4) with N={gt_boxes.shape[0]}, got {tuple(pred_boxes.shape)}"
        )
    gt = torch.nan_to_num(gt_boxes.to(pred.device).float())
    iou = box_iou(pred.float()[:, :, None, :], gt[:, None, :, :])  # (N, K, M)
    iou = torch.where(valid.to(iou.device)[:, None, :], iou, torch.zeros_like(iou))
    return iou.flatten(1).amax(1) if iou.numel() else iou.new_zeros(pred.shape[0])


def localization_hits(
    pred_boxes: Tensor, gt_boxes: Tensor, gt_valid: Tensor | None = None, iou_threshold: float = 0.5
) -> Tensor:
    """Bool ``(N,)``: the predicted box overlaps some ground-truth box with ``IoU >= iou_threshold``.

    This is the ILSVRC localization criterion used by Zhou et al. 2016 (CAM) and Selvaraju et al. 2017
    (Grad-CAM): a box is correct when its IoU with any ground-truth box of the class is at least 0.5.
    """
    return best_box_iou(pred_boxes, gt_boxes, gt_valid) >= iou_threshold


def topk_correct(logits: Tensor, labels: Tensor, k: int) -> Tensor:
    """Bool ``(N,)``: the label is among the ``k`` highest-scoring classes."""
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise InputError(
            f"logits/labels: expected (N, C) and (N,), got {tuple(logits.shape)} and {tuple(labels.shape)}"
        )
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return (top == labels.to(top.device)[:, None]).any(1)


_LOC_KEYS = ("top1_cls", "top5_cls", "top1_loc", "top5_loc", "gt_known_loc")


@dataclass
class LocalizationAccumulator:
    """Classification and localization error over a dataset (Russakovsky et al. 2015; Zhou et al. 2016).

    Each sample's box is computed from the map of its ground-truth class. Then, per sample,

    * top-1 loc correct = (top-1 class is right) and (IoU >= threshold with some GT box);
    * top-5 loc correct = (label in the top 5) and (IoU >= threshold): with one box per class this is the
      ILSVRC rule "one of the five (class, box) guesses is right in class and box";
    * GT-known loc correct = IoU >= threshold (the class is given).

    Errors are ``1 - mean(correct)``.
    """

    iou_threshold: float = 0.5
    n: int = 0
    _counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_LOC_KEYS, 0))

    def update(
        self,
        logits: Tensor,
        labels: Tensor,
        pred_boxes: Tensor,
        gt_boxes: Tensor,
        gt_valid: Tensor | None = None,
    ) -> Tensor:
        """Add a batch; returns the per-sample best IoU ``(N,)`` (useful for reporting examples)."""
        iou = best_box_iou(pred_boxes, gt_boxes, gt_valid)
        hit = iou >= self.iou_threshold
        top1 = topk_correct(logits, labels, 1).to(hit.device)
        top5 = topk_correct(logits, labels, 5).to(hit.device)
        batch = {
            "top1_cls": top1,
            "top5_cls": top5,
            "top1_loc": top1 & hit,
            "top5_loc": top5 & hit,
            "gt_known_loc": hit,
        }
        for key, value in batch.items():
            self._counts[key] += int(value.sum().item())
        self.n += int(labels.shape[0])
        return iou

    def compute(self) -> dict[str, float]:
        """Errors as fractions: ``top1_cls_error``, ``top5_cls_error``, ``top1_loc_error``,
        ``top5_loc_error``, ``gt_known_loc_error``, plus ``n``."""
        if self.n == 0:
            raise InputError("LocalizationAccumulator: no samples were added")
        out = {f"{k}_error": 1.0 - v / self.n for k, v in self._counts.items()}
        out["n"] = float(self.n)
        return out


@dataclass
class MaxBoxAccumulator:
    """MaxBoxAccV2 of Choe et al. 2020 ("Evaluating WSOL Right", journal version, TPAMI 2022).

    Maps are min-max normalised per sample to [0, 1]. For each threshold ``τ`` in ``thresholds`` the
    foreground is ``M > τ`` and every connected component gives a box (``multi_contour=True``; with
    False only the largest component). For each IoU threshold ``δ``,

        ``BoxAcc(τ, δ) = (1/N) Σ_n 1[ max_{box, gt} IoU(box(M_n, τ), gt) >= δ ]``,
        ``MaxBoxAcc(δ) = max_τ BoxAcc(τ, δ)``,  ``MaxBoxAccV2 = mean_δ MaxBoxAcc(δ)``, δ ∈ {0.3, 0.5, 0.7}.

    Maps are those of the ground-truth class (GT-known).
    """

    thresholds: Tensor = field(default_factory=lambda: torch.arange(0, 100) / 100.0)
    iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7)
    multi_contour: bool = True
    threshold_chunk: int = 100
    backend: CCBackend = "auto"
    n: int = 0
    _hits: Tensor | None = None

    def update(self, maps: Tensor, gt_boxes: Tensor, gt_valid: Tensor | None = None) -> None:
        """Add maps ``(N, H, W)`` and their ground-truth boxes ``(N, M, 4)``."""
        if maps.ndim != 3 or maps.shape[0] != gt_boxes.shape[0]:
            raise InputError(
                f"maps: expected (N, H, W) matching gt_boxes' N={gt_boxes.shape[0]}, got {tuple(maps.shape)}"
            )
        m = maps.float()
        lo = m.amin(dim=(1, 2), keepdim=True)
        hi = m.amax(dim=(1, 2), keepdim=True)
        m = torch.where(hi > lo, (m - lo) / (hi - lo).clamp(min=1e-12), torch.zeros_like(m))
        thr = self.thresholds.to(m.device, torch.float32)
        deltas = torch.tensor(list(self.iou_thresholds), device=m.device)
        best = []
        for start in range(0, thr.numel(), self.threshold_chunk):
            t = thr[start : start + self.threshold_chunk]
            masks = threshold_maps(m, t, relative=False)  # (N, T, H, W)
            boxes, areas = component_boxes(masks, backend=self.backend)  # (N, T, K, 4)
            if not self.multi_contour:
                boxes, areas = boxes[..., :1, :], areas[..., :1]
            iou = _best_iou_per_threshold(boxes, areas, gt_boxes.to(m.device), gt_valid)
            best.append(iou)
        best_iou = torch.cat(best, dim=1)  # (N, T)
        hits = (best_iou[None] >= deltas[:, None, None]).sum(1)  # (D, T)
        self._hits = hits.cpu() if self._hits is None else self._hits + hits.cpu()
        self.n += int(maps.shape[0])

    def box_accuracy(self) -> Tensor:
        """``BoxAcc(τ, δ)`` as a ``(D, T)`` tensor."""
        if self._hits is None or self.n == 0:
            raise InputError("MaxBoxAccumulator: no samples were added")
        return self._hits.float() / self.n

    def compute(self) -> dict[str, float]:
        """``maxboxacc_v2`` and ``maxboxacc@δ`` (fractions) and the best threshold for each δ."""
        acc = self.box_accuracy()
        best, where = acc.max(dim=1)
        out = {"maxboxacc_v2": float(best.mean())}
        for d, b, w in zip(self.iou_thresholds, best.tolist(), where.tolist(), strict=True):
            out[f"maxboxacc@{d:g}"] = b
            out[f"best_threshold@{d:g}"] = float(self.thresholds[w])
        out["n"] = float(self.n)
        return out


def _best_iou_per_threshold(boxes: Tensor, areas: Tensor, gt: Tensor, gt_valid: Tensor | None) -> Tensor:
    valid = _valid(gt, gt_valid)
    g = torch.nan_to_num(gt.float())
    iou = box_iou(boxes[:, :, :, None, :], g[:, None, None, :, :])  # (N, T, K, M)
    ok = (areas > 0)[..., None] & valid[:, None, None, :]
    iou = torch.where(ok, iou, torch.zeros_like(iou))
    return iou.flatten(2).amax(2)


def _argmax_points(maps: Tensor) -> tuple[Tensor, Tensor]:
    n, _h, w = maps.shape
    flat = maps.reshape(n, -1).float().argmax(1)  # first maximum in row-major order
    return flat // w, flat % w


def pointing_game_hits(
    maps: Tensor,
    gt_boxes: Tensor | None = None,
    gt_masks: Tensor | None = None,
    gt_valid: Tensor | None = None,
    tolerance: float = 15.0,
) -> Tensor:
    """Pointing game (Zhang et al. 2016, "Top-down Neural Attention by Excitation Backprop").

    A hit when the map's maximum (the first in row-major order if tied) lies within ``tolerance``
    pixels (15 in the paper) of the ground-truth region: for boxes, the Euclidean distance from the
    centre ``(j + 0.5, i + 0.5)`` of the max pixel to the box; for masks, the distance to the centre of
    the nearest mask pixel. An all-constant map points at pixel (0, 0).

    Args:
        maps: ``(N, H, W)``.
        gt_boxes: ``(N, M, 4)`` boxes (padding NaN / False in ``gt_valid``), or
        gt_masks: bool ``(N, H, W)`` masks; exactly one of the two.
        tolerance: pixels.

    Returns:
        bool ``(N,)``.
    """
    if (gt_boxes is None) == (gt_masks is None):
        raise InputError("pointing_game_hits: give exactly one of gt_boxes or gt_masks")
    if maps.ndim != 3:
        raise InputError(f"maps: expected (N, H, W), got {tuple(maps.shape)}")
    rows, cols = _argmax_points(maps)
    if gt_boxes is not None:
        valid = _valid(gt_boxes, gt_valid).to(maps.device)
        g = torch.nan_to_num(gt_boxes.to(maps.device).float())
        px = (cols.float() + 0.5)[:, None]
        py = (rows.float() + 0.5)[:, None]
        dx = torch.maximum(torch.maximum(g[..., 0] - px, px - g[..., 2]), torch.zeros_like(px))
        dy = torch.maximum(torch.maximum(g[..., 1] - py, py - g[..., 3]), torch.zeros_like(py))
        dist = torch.where(valid, torch.sqrt(dx**2 + dy**2), torch.full_like(dx, float("inf")))
        return dist.amin(1) <= tolerance
    masks = cast(Tensor, gt_masks).to(maps.device).bool()
    if masks.shape != maps.shape:
        raise InputError(f"gt_masks: expected shape {tuple(maps.shape)} like maps, got {tuple(masks.shape)}")
    h, w = maps.shape[-2:]
    r = torch.arange(h, device=maps.device, dtype=torch.float32)
    c = torch.arange(w, device=maps.device, dtype=torch.float32)
    d2 = (r[None, :, None] - rows.float()[:, None, None]) ** 2 + (c[None, None, :] - cols.float()[:, None, None]) ** 2
    d2 = torch.where(masks, d2, torch.full_like(d2, float("inf")))
    return d2.flatten(1).amin(1) <= tolerance**2


@dataclass
class PointingGameAccumulator:
    """Pointing-game accuracy over a dataset: ``hits / (hits + misses)`` (Zhang et al. 2016)."""

    tolerance: float = 15.0
    hits: int = 0
    n: int = 0

    def update(
        self,
        maps: Tensor,
        gt_boxes: Tensor | None = None,
        gt_masks: Tensor | None = None,
        gt_valid: Tensor | None = None,
    ) -> Tensor:
        """Add a batch; returns the per-sample hits."""
        hit = pointing_game_hits(maps, gt_boxes, gt_masks, gt_valid, self.tolerance)
        self.hits += int(hit.sum().item())
        self.n += int(hit.numel())
        return hit

    def compute(self) -> dict[str, float]:
        """``pointing_game`` accuracy (fraction) and ``n``."""
        if self.n == 0:
            raise InputError("PointingGameAccumulator: no samples were added")
        return {"pointing_game": self.hits / self.n, "n": float(self.n)}
