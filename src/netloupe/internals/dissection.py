"""Network dissection (Bau et al. 2017): which units of a layer detect which human-labelled concepts.

For unit ``k`` with activation maps ``A_k(x)`` over the dataset:

1. ``T_k`` is the top-quantile level with ``P(A_k > T_k) = 0.005``, taken over every spatial position of
   every image at the layer's own resolution.
2. ``A_k(x)`` is upsampled bilinearly to the mask resolution, ``S_k(x)``, and thresholded:
   ``M_k(x) = S_k(x) >= T_k``.
3. For concept ``c`` with masks ``L_c(x)``:
   ``IoU_{k,c} = sum_x |M_k(x) ∩ L_c(x)| / sum_x |M_k(x) ∪ L_c(x)|``.
4. Unit ``k`` is a detector of its best concept ``argmax_c IoU_{k,c}`` when that IoU exceeds 0.04.

A unit that is constant on more than 99.5% of positions (a dead ReLU unit is 0 almost everywhere) has
``T_k`` equal to its minimum, and ``S_k >= T_k`` would select every pixel, making it a spurious detector of
any large concept. For such units (``nonselective_``) the mask is ``S_k(x) > T_k`` instead: only the few
positions above the floor, often none.

The opposite happens when activations tie at the top: a unit that saturates (ReLU6 in MobileNet/
EfficientNet-Lite) has a plateau at its maximum, ``S_k >= T_k`` keeps the whole plateau, and a unit that
is saturated almost everywhere again "detects" any large concept. netloupe measures each unit's
``coverage_`` (the fraction of positions in its mask) and does not count a unit as a detector when the
coverage exceeds ``max_coverage`` (default ``min(0.5, 10 * quantile)``; the paper has no such rule, pass
``max_coverage=1.0`` to reproduce it exactly). Such units keep their IoU in ``iou_`` and ``summary()``.

Activations are kept in memory between the two passes (``N * C * h * w`` floats, e.g. 50 MB for 200
images of a 1280 x 7 x 7 layer); intersections and unions are accumulated with one matrix product per
batch and unit chunk, on ``device``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from .._progress import track
from .._state import eval_mode
from .._typing import LayerSpec
from ..errors import InputError
from ..layers import resolve_layer
from ..models.preprocess import ImagePreprocess
from ._hooks import capture
from .data import ImageSet

__all__ = ["Detector", "NetworkDissection"]


@dataclass(frozen=True)
class Detector:
    """A unit whose best concept IoU exceeds the threshold."""

    unit: int
    concept: str
    iou: float


class NetworkDissection:
    """Score every unit of one conv layer against concept masks (see the module docstring).

    Args:
        model: the network (restored to its training flag afterwards).
        layer: the conv layer to dissect (name or module).
        preprocess: the model's preprocessing; it must resize the whole image (no crop) so masks align.
        quantile: the top fraction of activations that a unit's mask covers (0.005 in the paper).
        iou_threshold: the IoU above which a unit counts as a detector (0.04 in the paper).
        mask_size: (H, W) at which IoU is measured; default the preprocessing size (or the images' size).
        batch_size: images per forward pass.
        device: where the model and the IoU accumulation run.
        unit_chunk: units upsampled at once (bounds memory).
        max_coverage: a unit whose mask covers more than this fraction of positions is not a detector
            (see the module docstring); default ``min(0.5, 10 * quantile)``.

    Attributes (after ``fit``):
        layer_: the dissected layer's name.
        concepts_: concept names.
        thresholds_: ``(C,)`` the levels ``T_k``.
        nonselective_: ``(C,)`` units whose ``T_k`` is their minimum (masked with ``>``, not ``>=``).
        coverage_: ``(C,)`` fraction of positions (layer resolution) in the unit's mask; above ``quantile``
            when activations tie at the top (a saturated ReLU6 plateau puts all of it in the mask).
        iou_: ``(C, K)`` IoU of every unit with every concept.
        detectors_: detectors, highest IoU first.
        max_activation_: ``(N, C)`` each image's peak activation per unit (ranks top images).
        activations_: ``(N, C, h, w)`` the layer's activations (CPU), reusable by another ``fit``.
    """

    def __init__(
        self,
        model: nn.Module,
        layer: LayerSpec,
        preprocess: ImagePreprocess,
        quantile: float = 0.005,
        iou_threshold: float = 0.04,
        mask_size: tuple[int, int] | None = None,
        batch_size: int = 16,
        device: str | torch.device = "cpu",
        unit_chunk: int = 256,
        max_coverage: float | None = None,
    ) -> None:
        if not 0.0 < quantile < 1.0:
            raise InputError(f"quantile: expected a fraction in (0, 1), got {quantile}")
        if not 0.0 <= iou_threshold <= 1.0:
            raise InputError(f"iou_threshold: expected a value in [0, 1], got {iou_threshold}")
        self.model = model
        self.layer = layer
        self.preprocess = preprocess
        self.quantile = quantile
        self.iou_threshold = iou_threshold
        self.mask_size = mask_size
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.unit_chunk = unit_chunk
        self.max_coverage = min(0.5, 10 * quantile) if max_coverage is None else max_coverage
        if not 0.0 < self.max_coverage <= 1.0:
            raise InputError(f"max_coverage: expected a fraction in (0, 1], got {max_coverage}")

    # ----------------------------------------------------------------------------------------------
    def _batches(self, n: int) -> list[range]:
        if self.batch_size < 1:
            raise InputError(f"batch_size: expected a positive integer, got {self.batch_size}")
        return [range(s, min(s + self.batch_size, n)) for s in range(0, n, self.batch_size)]

    def _masks(self, images: ImageSet, batch: range, size: tuple[int, int]) -> Tensor:
        """Concept masks of a batch, nearest-resized to ``size``: float ``(B, K, H, W)``."""
        out = []
        for i in batch:
            m = images.masks(i)
            if m.shape[0] != len(images.concepts):
                raise InputError(
                    f"masks: image {images.names[i]} has {m.shape[0]} masks, expected {len(images.concepts)}"
                )
            resized = [
                np.asarray(
                    Image.fromarray(mk.astype(np.uint8) * 255).resize((size[1], size[0]), Image.Resampling.NEAREST)
                )
                > 127
                for mk in m
            ]
            out.append(np.stack(resized))
        return torch.from_numpy(np.stack(out)).float().to(self.device)

    def _activations(self, images: ImageSet, progress: bool) -> Tensor:
        name, _ = resolve_layer(self.model, self.layer)
        self.layer_ = name
        chunks = []
        batches = self._batches(len(images))
        with eval_mode(self.model), capture(self.model, name) as store, torch.no_grad():
            for batch in track(batches, len(batches), "dissection: activations", progress):
                x = self.preprocess.batch(images.images(batch)).to(self.device)
                self.model(x)
                a = store["out"]
                if a.ndim != 4 or math.prod(a.shape[2:]) <= 1:
                    raise InputError(
                        f"layer: dissection needs a conv layer with (N, C, H, W) output; {name!r} "
                        f"gives {tuple(a.shape)}"
                    )
                chunks.append(a.float().cpu())
        return torch.cat(chunks)

    def fit(self, images: ImageSet, progress: bool = False, activations: Tensor | None = None) -> NetworkDissection:
        """Run both passes over ``images`` (an :class:`ImageSet` with concept masks).

        Args:
            images: the images and their concept masks.
            progress: show progress bars.
            activations: ``(N, C, h, w)`` activations of ``layer`` for ``images`` from an earlier fit
                (``activations_``), to dissect the same layer again (other quantile) without a forward pass.
        """
        if not images.concepts or images.read_masks is None:
            raise InputError(f"images: dissection needs concept masks; {images.source} has none")
        if len(images) < 1:
            raise InputError("images: dissection needs at least one image with masks, got none")
        if activations is None:
            acts = self._activations(images, progress)
        else:
            if activations.ndim != 4 or activations.shape[0] != len(images):
                raise InputError(
                    f"activations: expected (N={len(images)}, C, h, w), got shape {tuple(activations.shape)}"
                )
            acts = activations.float().cpu()
            self.layer_ = resolve_layer(self.model, self.layer)[0]
        n, c = acts.shape[:2]
        size = self.mask_size or self.preprocess.size or (acts.shape[2], acts.shape[3])
        if self.mask_size is None and self.preprocess.size is None:
            first = images.image(0)
            size = (first.size[1], first.size[0])
        self.mask_size_ = (int(size[0]), int(size[1]))
        values = acts.transpose(0, 1).reshape(c, -1)
        k_top = max(1, math.ceil(self.quantile * values.shape[1]))
        self.thresholds_ = torch.topk(values, k_top, dim=1).values[:, -1].contiguous()
        self.nonselective_ = self.thresholds_ <= values.amin(dim=1)
        t = self.thresholds_[:, None]
        self.coverage_ = torch.where(self.nonselective_[:, None], values > t, values >= t).float().mean(dim=1)
        self.max_activation_ = acts.flatten(2).amax(dim=2)
        n_concepts = len(images.concepts)
        inter = torch.zeros(c, n_concepts, dtype=torch.float64, device=self.device)
        unit_area = torch.zeros(c, dtype=torch.float64, device=self.device)
        concept_area = torch.zeros(n_concepts, dtype=torch.float64, device=self.device)
        thresholds = self.thresholds_.to(self.device)
        strict = self.nonselective_.to(self.device)
        batches = self._batches(n)
        for batch in track(batches, len(batches), "dissection: IoU", progress):
            masks = self._masks(images, batch, self.mask_size_)
            concept_area += masks.sum(dim=(0, 2, 3)).double()
            flat_masks = masks.permute(0, 2, 3, 1).reshape(-1, n_concepts)
            for s in range(0, c, self.unit_chunk):
                unit_masks = self._unit_masks(
                    acts[batch.start : batch.stop, s : s + self.unit_chunk],
                    thresholds[s : s + self.unit_chunk],
                    strict[s : s + self.unit_chunk],
                )
                unit_area[s : s + self.unit_chunk] += unit_masks.sum(dim=(0, 2, 3)).double()
                flat_units = unit_masks.permute(1, 0, 2, 3).reshape(unit_masks.shape[1], -1)
                inter[s : s + self.unit_chunk] += (flat_units @ flat_masks).double()
        union = unit_area[:, None] + concept_area[None, :] - inter
        self.iou_ = (inter / union.clamp_min(1.0)).float().cpu()
        self.concepts_ = list(images.concepts)
        self.activations_ = acts
        best_iou, best = self.iou_.max(dim=1)
        order = torch.argsort(best_iou, descending=True)
        self.detectors_ = [
            Detector(int(u), self.concepts_[int(best[u])], float(best_iou[u]))
            for u in order.tolist()
            if self._is_detector(u, float(best_iou[u]))
        ]
        return self

    def _is_detector(self, unit: int, iou: float) -> bool:
        return iou > self.iou_threshold and float(self.coverage_[unit]) <= self.max_coverage

    def _unit_masks(self, acts: Tensor, thresholds: Tensor, strict: Tensor) -> Tensor:
        up = F.interpolate(acts.to(self.device), size=self.mask_size_, mode="bilinear", align_corners=False)
        t = thresholds[None, :, None, None]
        return torch.where(strict[None, :, None, None], up > t, up >= t).float()

    def _check_fitted(self) -> None:
        if not hasattr(self, "iou_"):
            raise InputError("NetworkDissection: this instance is not fitted yet; call fit(images) first")

    def top_images(self, unit: int, n: int = 5) -> list[int]:
        """Indices of the ``n`` images where ``unit`` reaches its highest activation."""
        self._check_fitted()
        if not 0 <= unit < self.max_activation_.shape[1]:
            raise InputError(f"unit: expected 0..{self.max_activation_.shape[1] - 1}, got {unit}")
        n = min(n, self.max_activation_.shape[0])
        return torch.topk(self.max_activation_[:, unit], n).indices.tolist()

    def unit_mask(self, index: int, unit: int) -> np.ndarray:
        """``M_k(x)`` of image ``index`` at the mask resolution, bool ``(H, W)``."""
        self._check_fitted()
        m = self._unit_masks(
            self.activations_[index : index + 1, unit : unit + 1],
            self.thresholds_[unit : unit + 1].to(self.device),
            self.nonselective_[unit : unit + 1].to(self.device),
        )
        return m[0, 0].bool().cpu().numpy()

    def summary(self) -> list[dict[str, float | int | str]]:
        """One row per unit: best concept and IoU, detector or not, ``T_k``, mask coverage and flags."""
        self._check_fitted()
        best_iou, best = self.iou_.max(dim=1)
        return [
            {
                "unit": u,
                "concept": self.concepts_[int(best[u])],
                "iou": float(best_iou[u]),
                "detector": self._is_detector(u, float(best_iou[u])),
                "threshold": float(self.thresholds_[u]),
                "nonselective": bool(self.nonselective_[u]),
                "coverage": float(self.coverage_[u]),
                "saturated": float(self.coverage_[u]) > self.max_coverage,
            }
            for u in range(self.iou_.shape[0])
        ]
