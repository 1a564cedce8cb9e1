"""Panels of images: nearest neighbours in two spaces side by side, and dissection detectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["dissection_figure", "neighbors_figure"]

_OK, _BAD = "#1a9850", "#d73027"


def _frame(ax: object, colour: str, width: float = 3.0) -> None:
    for spine in ax.spines.values():  # type: ignore[attr-defined]
        spine.set_visible(True)
        spine.set_edgecolor(colour)
        spine.set_linewidth(width)


def _show(ax: object, img: Image.Image) -> None:
    arr = np.asarray(img)
    ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None)  # type: ignore[attr-defined]
    ax.set_xticks([])  # type: ignore[attr-defined]
    ax.set_yticks([])  # type: ignore[attr-defined]


def neighbors_figure(
    queries: Sequence[Image.Image],
    feature_neighbors: Sequence[Sequence[Image.Image]],
    pixel_neighbors: Sequence[Sequence[Image.Image]],
    feature_match: np.ndarray | None = None,
    pixel_match: np.ndarray | None = None,
    query_titles: Sequence[str] | None = None,
    title: str = "",
    space_titles: tuple[str, str] = ("feature space", "pixel space"),
) -> Figure:
    """One row per query: the query, its k neighbours in feature space, then its k neighbours in pixel space.

    ``*_match`` ``(q, k)`` bool frames each neighbour green (same label as the query) or red.
    """
    import matplotlib.pyplot as plt

    q, k = len(queries), len(feature_neighbors[0])
    ncols = 2 * k + 2  # query | k | gap | k
    widths = [1.0] + [1.0] * k + [0.25] + [1.0] * k
    fig, axes = plt.subplots(
        q,
        ncols,
        figsize=(1.15 * (2 * k + 1.25), 1.2 * q + 0.7),
        squeeze=False,
        gridspec_kw={"width_ratios": widths, "wspace": 0.06, "hspace": 0.12},
    )
    for r in range(q):
        _show(axes[r, 0], queries[r])
        _frame(axes[r, 0], "#222222")
        if query_titles is not None:
            axes[r, 0].set_ylabel(query_titles[r], fontsize=7, rotation=0, ha="right", va="center")
        axes[r, k + 1].set_axis_off()
        for j in range(k):
            for col, imgs, match in (
                (1 + j, feature_neighbors, feature_match),
                (k + 2 + j, pixel_neighbors, pixel_match),
            ):
                _show(axes[r, col], imgs[r][j])
                if match is not None:
                    _frame(axes[r, col], _OK if match[r, j] else _BAD)
    axes[0, 0].set_title("query", fontsize=9)
    axes[0, 1 + k // 2].set_title(space_titles[0], fontsize=9)
    axes[0, k + 2 + k // 2].set_title(space_titles[1], fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def dissection_figure(
    rows: Sequence[tuple[str, Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]]]], title: str = ""
) -> Figure:
    """One row per detector: its top-activating images with the unit's mask.

    Args:
        rows: ``(row title, [(image (H, W[, 3]) in [0, 1] or uint8, unit mask (H, W) bool, concept mask
            (H, W) bool or None), ...])``. Outside the unit's mask the image is dimmed; the unit mask's
            edge is drawn in yellow and the concept mask's edge in cyan.
    """
    import matplotlib.pyplot as plt

    n_rows = len(rows)
    n_cols = max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.7 * n_cols, 1.85 * n_rows + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for r, (row_title, panels) in enumerate(rows):
        for c, (img, unit_mask, concept_mask) in enumerate(panels):
            arr = np.asarray(img, dtype=np.float64)
            arr = arr / 255.0 if arr.max() > 1.0 else arr
            if arr.ndim == 2:
                arr = np.repeat(arr[:, :, None], 3, axis=2)
            shown = np.where(unit_mask[:, :, None], arr, 0.3 * arr)
            ax = axes[r, c]
            ax.imshow(shown)
            ax.contour(unit_mask.astype(float), levels=[0.5], colors=["yellow"], linewidths=1.0)
            if concept_mask is not None and concept_mask.any():
                ax.contour(concept_mask.astype(float), levels=[0.5], colors=["cyan"], linewidths=0.8)
        axes[r, 0].set_title(row_title, fontsize=8, loc="left")
    fig.suptitle(title + "\n(yellow: unit mask M_k = upsampled activation >= T_k; cyan: concept mask)", fontsize=9)
    fig.tight_layout()
    return fig
