"""2-D embeddings as pictures: a scatter coloured by label and a thumbnail map snapped to a grid."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["embedding_scatter", "snap_to_grid", "thumbnail_map"]


def embedding_scatter(
    coords: np.ndarray,
    labels: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "",
    max_legend: int = 12,
) -> Figure:
    """Scatter of ``coords`` ``(n, 2)`` coloured by ``labels``; a legend when there are few classes."""
    import matplotlib.pyplot as plt

    xy = np.asarray(coords)
    fig, ax = plt.subplots(figsize=(7, 6))
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=6, c="#2a4fb0", alpha=0.7, linewidths=0)
    else:
        lab = np.asarray(labels).ravel()
        classes = np.unique(lab)
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        size = 10 if len(xy) < 2000 else 3
        for i, c in enumerate(classes):
            sel = lab == c
            name = class_names[int(c)] if class_names is not None and 0 <= int(c) < len(class_names) else str(c)
            ax.scatter(
                xy[sel, 0],
                xy[sel, 1],
                s=size,
                color=cmap(i % cmap.N),
                alpha=0.75,
                linewidths=0,
                label=f"{name} ({int(sel.sum())})",
            )
        if len(classes) <= max_legend:
            ax.legend(fontsize=8, markerscale=2, loc="best", frameon=True)
        else:
            ax.text(0.01, 0.01, f"{len(classes)} classes (colours repeat)", transform=ax.transAxes, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def snap_to_grid(coords: np.ndarray, grid: int) -> dict[tuple[int, int], int]:
    """Assign points to cells of a ``grid`` x ``grid`` lattice over their bounding box.

    Each point falls in the cell that contains it; a cell shows the point nearest its centre. Returns
    ``{(row, col): point index}`` (row 0 at the top, i.e. the largest y).
    """
    xy = np.asarray(coords, dtype=np.float64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    unit = (xy - lo) / np.where(hi > lo, hi - lo, 1.0)
    cell = np.minimum((unit * grid).astype(int), grid - 1)
    centre = (cell + 0.5) / grid
    dist = ((unit - centre) ** 2).sum(axis=1)
    chosen: dict[tuple[int, int], int] = {}
    for i in np.argsort(dist):
        key = (grid - 1 - int(cell[i, 1]), int(cell[i, 0]))
        chosen.setdefault(key, int(i))
    return chosen


def thumbnail_map(
    coords: np.ndarray,
    image: Callable[[int], Image.Image],
    grid: int = 30,
    thumb: int = 32,
    background: int = 255,
    labels: np.ndarray | None = None,
    border: int = 2,
) -> np.ndarray:
    """Draw each chosen image at its 2-D position snapped to a ``grid`` x ``grid`` lattice.

    Args:
        coords: ``(n, 2)`` embedding.
        image: ``index -> PIL image``, only called for the points shown.
        grid: cells per side.
        thumb: thumbnail size in pixels.
        background: grey level of empty cells.
        labels: when given (and there are at most 10 classes), each thumbnail gets a ``border``-pixel frame
            in its label's tab10 colour.
        border: frame width in pixels.

    Returns:
        ``(grid * thumb, grid * thumb, 3)`` uint8 image.
    """
    canvas = np.full((grid * thumb, grid * thumb, 3), background, dtype=np.uint8)
    colours = None
    if labels is not None and len(np.unique(labels)) <= 10:
        import matplotlib.pyplot as plt

        classes = {int(c): i for i, c in enumerate(np.unique(labels))}
        cmap = plt.get_cmap("tab10")
        colours = {c: (np.array(cmap(i)[:3]) * 255).astype(np.uint8) for c, i in classes.items()}
    for (r, c), i in snap_to_grid(coords, grid).items():
        tile = np.array(image(i).convert("RGB").resize((thumb, thumb), Image.Resampling.BILINEAR))
        if colours is not None and labels is not None:
            col = colours[int(labels[i])]
            tile[:border], tile[-border:], tile[:, :border], tile[:, -border:] = col, col, col, col
        canvas[r * thumb : (r + 1) * thumb, c * thumb : (c + 1) * thumb] = tile
    return canvas
