"""Tile grids: kernels, feature maps and image mosaics as arrays or matplotlib figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..internals.filters import KernelTiles

__all__ = ["activation_grid_figure", "kernel_grid_figure", "tile_grid"]


def tile_grid(
    tiles: np.ndarray | torch.Tensor, ncols: int | None = None, pad: int = 1, pad_value: float = 1.0
) -> np.ndarray:
    """Lay tiles out on a grid with ``pad`` pixels of ``pad_value`` between them.

    Args:
        tiles: ``(rows, cols, h, w, C)`` (kept as a 2-D layout) or ``(n, h, w, C)``.
        ncols: wrap the tiles into this many columns (default: keep a 2-D layout, or ``ceil(sqrt(n))``).
        pad: border width in pixels between tiles (also around the grid).
        pad_value: border value.

    Returns:
        ``(H, W, C)`` float array; tile ``(r, c)`` starts at ``(pad + r * (h + pad), pad + c * (w + pad))``.
    """
    t = tiles.detach().cpu().numpy() if isinstance(tiles, torch.Tensor) else np.asarray(tiles)
    if t.ndim == 4:
        t = t[None]
    if t.ndim != 5:
        raise ValueError(f"tiles: expected (rows, cols, h, w, C) or (n, h, w, C), got shape {t.shape}")
    if ncols is not None or t.shape[0] == 1 or t.shape[1] == 1:  # a single row or column wraps to a square
        flat = t.reshape(-1, *t.shape[2:])
        cols = ncols or max(1, math.ceil(math.sqrt(flat.shape[0])))
        rows = math.ceil(flat.shape[0] / cols)
        filled = np.full((rows * cols, *flat.shape[1:]), np.nan, dtype=np.float64)
        filled[: flat.shape[0]] = flat
        t = filled.reshape(rows, cols, *flat.shape[1:])
    rows, cols, h, w, c = t.shape
    out = np.full((pad + rows * (h + pad), pad + cols * (w + pad), c), pad_value, dtype=np.float64)
    for r in range(rows):
        for col in range(cols):
            tile = t[r, col]
            if np.isnan(tile).all():
                continue
            y, x = pad + r * (h + pad), pad + col * (w + pad)
            out[y : y + h, x : x + w] = tile
    return out


def kernel_grid_figure(kt: KernelTiles, title: str = "", max_width_in: float = 9.0) -> Figure:
    """A figure of :class:`~netloupe.internals.filters.KernelTiles` with a caption of mode and scaling."""
    import matplotlib.pyplot as plt

    pad = 1 if max(kt.tiles.shape[2:4]) <= 16 else 2
    grid = tile_grid(kt.tiles, pad=pad)
    aspect = grid.shape[0] / grid.shape[1]
    fig, ax = plt.subplots(figsize=(max_width_in, max(2.0, max_width_in * aspect)))
    if grid.shape[2] == 1:
        ax.imshow(grid[:, :, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    rng = f", weights {kt.value_range[0]:.3g}..{kt.value_range[1]:.3g} -> black..white" if kt.value_range else ""
    ax.set_title(f"{title}\nweight {tuple(kt.weight_shape)}; {kt.row_label}; {kt.scale} scaling{rng}", fontsize=9)
    fig.tight_layout()
    return fig


def activation_grid_figure(
    image: np.ndarray,
    maps: np.ndarray | torch.Tensor,
    channels: Sequence[int],
    title: str = "",
    ncols: int = 8,
    shared_scale: bool = False,
) -> Figure:
    """The input next to feature maps ``maps`` ``(n, h, w)`` (channel ids ``channels``), viridis.

    With ``shared_scale`` every map uses the same colour range (largest value of all maps), else each
    map is scaled to its own maximum.
    """
    import matplotlib.pyplot as plt

    m = maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)
    n = m.shape[0]
    cols = min(ncols, n) + 1
    rows = math.ceil(n / (cols - 1))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.7 * rows + 0.4), squeeze=False)
    vmax = float(m.max()) if shared_scale else None
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].imshow(image, cmap="gray" if np.asarray(image).ndim == 2 else None)
    axes[0, 0].set_title("input", fontsize=8)
    for i in range(n):
        ax = axes[i // (cols - 1), 1 + i % (cols - 1)]
        lo = min(0.0, float(m[i].min()))
        ax.imshow(
            m[i],
            cmap="viridis",
            vmin=lo,
            vmax=vmax if vmax is not None else max(float(m[i].max()), lo + 1e-12),
        )
        ax.set_title(f"ch {channels[i]} (max {m[i].max():.2g})", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
