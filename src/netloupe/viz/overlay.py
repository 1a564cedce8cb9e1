"""Overlays of a map on its image, and the top-k figure (one overlay per class)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from .colormaps import apply_colormap

__all__ = ["overlay", "topk_figure"]


def overlay(
    image: Image.Image | np.ndarray, heatmap: np.ndarray, alpha: float = 0.5, cmap: str = "turbo"
) -> Image.Image:
    """Blend a [0, 1] ``heatmap`` (H, W) over ``image`` of the same size: ``(1 - a) image + a colour(map)``.

    The colour weight grows with the map value, so cold regions keep the photo readable.
    """
    base = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float32)
    if base.ndim == 2:
        base = np.repeat(base[:, :, None], 3, axis=2)
    if heatmap.shape != base.shape[:2]:
        raise ValueError(f"overlay: heatmap {heatmap.shape} and image {base.shape[:2]} differ in size")
    heat = apply_colormap(heatmap, cmap).astype(np.float32)
    weight = alpha * (0.35 + 0.65 * np.clip(heatmap, 0, 1))[:, :, None]
    return Image.fromarray((base * (1 - weight) + heat * weight).round().astype(np.uint8))


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
