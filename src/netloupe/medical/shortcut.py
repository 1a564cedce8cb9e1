"""A synthetic shortcut for bias audits: a "hospital tag" marker stamped in a corner of the image.

Grad-CAM's authors (Selvaraju et al., 2017, section 6.3) showed that maps of a model trained on a biased
data set reveal the spurious evidence it learned. The medical analogue is a scanner- or hospital-specific
marker that co-occurs with one diagnosis (Zech et al., 2018, PLOS Medicine: CNNs for pneumonia detection
picked up hospital-specific tokens). :func:`marker_transform` makes such a training set on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import InputError

__all__ = ["Marker", "add_marker", "marker_transform"]

_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


@dataclass(frozen=True)
class Marker:
    """A bright square "tag" of ``size`` pixels, ``margin`` pixels from the ``corner``; 1-px dark core.

    Attributes:
        corner: top-left, top-right, bottom-left or bottom-right.
        size: side in pixels.
        margin: distance from the image edges in pixels.
        value: grey level of the tag in [0, 1] (its centre pixel is set to ``1 - value``).
    """

    corner: str = "top-right"
    size: int = 5
    margin: int = 1
    value: float = 1.0

    def __post_init__(self) -> None:
        if self.corner not in _CORNERS:
            raise InputError(f"marker corner: expected one of {list(_CORNERS)}, got {self.corner!r}")
        if self.size < 1 or self.margin < 0:
            raise InputError(f"marker: size must be >= 1 and margin >= 0, got size={self.size} margin={self.margin}")

    def box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` in pixels (end exclusive) for an image of this size."""
        y0 = self.margin if self.corner.startswith("top") else height - self.margin - self.size
        x0 = self.margin if self.corner.endswith("left") else width - self.margin - self.size
        return (x0, y0, x0 + self.size, y0 + self.size)


def add_marker(images: Tensor, marker: Marker, which: Tensor | None = None) -> Tensor:
    """A copy of ``images`` (``(N, C, H, W)`` in [0, 1]) with the marker stamped on ``which`` (bool (N,))."""
    out = images.clone()
    x0, y0, x1, y1 = marker.box(images.shape[-2], images.shape[-1])
    sel = torch.ones(images.shape[0], dtype=torch.bool) if which is None else which.to(torch.bool)
    patch = torch.full((marker.size, marker.size), marker.value, dtype=images.dtype)
    c = marker.size // 2
    patch[c, c] = 1.0 - marker.value
    out[sel, :, y0:y1, x0:x1] = patch
    return out


def marker_transform(
    marker: Marker, label: int = 1, p_label: float = 1.0, p_other: float = 0.0, seed: int = 0
) -> Callable[[Tensor, Tensor], Tensor]:
    """A split transform stamping the marker on a fraction ``p_label`` of class ``label`` and ``p_other``
    of the other classes (fixed seed), to build a biased training set."""

    def transform(images: Tensor, labels: Tensor) -> Tensor:
        g = torch.Generator().manual_seed(seed)
        u = torch.rand(labels.shape[0], generator=g)
        which = torch.where(labels == label, u < p_label, u < p_other)
        return add_marker(images, marker, which)

    return transform
