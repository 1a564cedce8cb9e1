"""Overlays of a map on its image (the one blending formula, in torch), and the top-k figure.

Every overlay netloupe draws — ``netloupe explain``/``run`` files, the web app's downloads, the demo,
the medical figures — comes from :func:`overlay_batch`: batched on the model's device for dataset runs,
one image at a time through :func:`overlay`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from .colormaps import apply_colormap

__all__ = ["ALPHA", "overlay", "overlay_batch", "topk_figure"]

ALPHA = 0.5


@lru_cache(maxsize=8)
def _lut(cmap: str) -> Tensor:
    # Values (i + 0.5) / 255 land exactly on lookup index i in apply_colormap (it truncates v * 255).
    centres = ((np.arange(256) + 0.5) / 255.0).astype(np.float32)
    return torch.from_numpy(apply_colormap(centres, cmap).copy())


def overlay_batch(
    images: Tensor, maps: Tensor, alpha: float = ALPHA, cmap: str = "turbo", ramp: bool = True
) -> Tensor:
    """Overlays of ``maps`` (B, K, H, W) in [0, 1] on ``images`` (B, H, W, 3) uint8 -> (B, K, H, W, 3) uint8.

    ``round((1 - w) * image + w * colour(map))``: with ``ramp`` the colour weight grows with the map
    value, ``w = alpha * (0.35 + 0.65 * map)``, so cold regions keep the photo readable; without it
    ``w = alpha`` everywhere. Runs on the maps' device; NaN counts as 0.
    """
    lut = _lut(cmap).to(maps.device)
    clean = maps.nan_to_num(0.0).clamp(0, 1)
    heat = lut[(clean * 255.0).to(torch.uint8).long()].float()
    weight = (alpha * (0.35 + 0.65 * clean) if ramp else torch.full_like(clean, alpha)).unsqueeze(-1)
    base = images.to(maps.device).float().unsqueeze(1)
    return (base * (1 - weight) + heat * weight).round().to(torch.uint8)


def _rgb_tensor(image: Image.Image | np.ndarray) -> Tensor:
    """An image as (H, W, 3) uint8; grey arrays in [0, 1] (float) or 0..255 (uint8) are repeated to RGB."""
    if isinstance(image, Image.Image):
        arr = np.asarray(image.convert("RGB"))
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            arr = (np.clip(arr.astype(np.float32), 0, 1) * 255.0).round().astype(np.uint8)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        arr = arr[..., :3]
    arr = np.ascontiguousarray(arr)
    return torch.from_numpy(arr if arr.flags.writeable else arr.copy())


def overlay(
    image: Image.Image | np.ndarray,
    heatmap: np.ndarray,
    alpha: float = ALPHA,
    cmap: str = "turbo",
    ramp: bool = True,
) -> Image.Image:
    """Blend a [0, 1] ``heatmap`` (H, W) over ``image`` of the same size (see :func:`overlay_batch`)."""
    base = _rgb_tensor(image)
    heat = torch.as_tensor(np.asarray(heatmap, dtype=np.float32))
    if tuple(heat.shape) != tuple(base.shape[:2]):
        raise ValueError(f"overlay: heatmap {tuple(heat.shape)} and image {tuple(base.shape[:2])} differ in size")
    return Image.fromarray(overlay_batch(base[None], heat[None, None], alpha, cmap, ramp)[0, 0].numpy())


def topk_figure(
    image: Image.Image,
    heatmaps: Sequence[np.ndarray],
    titles: Sequence[str],
    suptitle: str = "",
    alpha: float = 0.5,
) -> object:
    """A matplotlib figure: the image, then one overlay per class (titles like "Dome 0.45")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(heatmaps) + 1
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4))
    axes[0].imshow(image)
    axes[0].set_title("input")
    for ax, heat, title in zip(axes[1:], heatmaps, titles, strict=True):
        ax.imshow(overlay(image, heat, alpha))
        ax.set_title(title)
    for ax in axes:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
