"""A dataset and a network whose internals are known by construction (for tests and demos).

Images are dark, noisy canvases with a red square and/or a green disc at random places; the concept
masks are exactly the painted shapes. :func:`shape_detector_net` is a small CNN whose first layer is set
by hand: unit 0 sums the red channel over a 3x3 window, unit 1 the green channel, unit 2 the blue
channel (nothing is painted blue, so it sees only background noise), unit 3 is a constant. Network
dissection must find
unit 0 -> square and unit 1 -> circle, and no detector among units 2 and 3.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..models.preprocess import ImagePreprocess
from .data import ImageSet

__all__ = ["SHAPE_CONCEPTS", "identity_preprocess", "shape_detector_net", "synthetic_shapes"]

SHAPE_CONCEPTS = ("square", "circle")


def synthetic_shapes(n: int = 48, size: int = 48, seed: int = 0, side: int = 8, radius: int = 5) -> ImageSet:
    """``n`` RGB images (uint8, ``size`` x ``size``) with concept masks ``("square", "circle")``.

    Each image gets a red square (side ``side``) with probability 0.7 and a green disc (``radius``)
    with probability 0.7 (at least one of the two), at non-overlapping random positions; labels are
    0 = square only, 1 = circle only, 2 = both.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, masks, labels = [], [], []
    for _ in range(n):
        has_sq, has_ci = rng.random() < 0.7, rng.random() < 0.7
        if not (has_sq or has_ci):
            has_sq = True
        img = rng.uniform(0, 0.15, size=(size, size, 3))
        sq = np.zeros((size, size), bool)
        ci = np.zeros((size, size), bool)
        while True:
            r0, c0 = rng.integers(1, size - side - 1, size=2)
            cy, cx = rng.integers(radius + 1, size - radius - 1, size=2)
            sq[:] = has_sq & (yy >= r0) & (yy < r0 + side) & (xx >= c0) & (xx < c0 + side)
            ci[:] = has_ci & ((yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2)
            if not (_dilate(sq) & ci).any():
                break
        img[sq] = (0.95, 0.05, 0.05)
        img[ci] = (0.05, 0.95, 0.05)
        images.append((img * 255).round().astype(np.uint8))
        masks.append(np.stack([sq, ci]))
        labels.append(0 if not has_ci else (1 if not has_sq else 2))
    return ImageSet.from_arrays(images, labels, ["square", "circle", "both"], masks, SHAPE_CONCEPTS)


def _dilate(mask: np.ndarray, r: int = 2) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def shape_detector_net() -> nn.Module:
    """conv(3->4, 3x3, hand-set) -> ReLU -> maxpool 2 (halves the resolution) -> GAP -> linear(4->3).

    Units 0-2 sum one colour channel over a 3x3 window: unit 0 red (bias -1.5), unit 1 green (bias -1.5),
    unit 2 blue (bias -0.5); unit 3 has zero weights and bias 0.1 (a constant map). Units 0 and 1 respond
    ~7 inside their shape and 0 elsewhere; unit 2 responds to background noise peaks (the shapes hold
    almost no blue), so its top activations fall outside every concept.
    """
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.zero_()
        for unit, channel in ((0, 0), (1, 1), (2, 2)):
            conv.weight[unit, channel] = 1.0
        assert conv.bias is not None  # built with bias=True
        conv.bias.copy_(torch.tensor([-1.5, -1.5, -0.5, 0.1]))
    model = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    return model.eval()


def identity_preprocess() -> ImagePreprocess:
    """Pixels scaled to [0, 1], no resize, no normalisation (for :func:`synthetic_shapes`)."""
    return ImagePreprocess(size=None, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
