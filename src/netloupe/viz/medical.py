"""Pictures of maps on medical images: a 2-D overlay and a montage of slices of a volume."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._typing import PathLikeStr
from ..io.atomic import atomic_write

__all__ = ["overlay_rgb", "save_montage", "save_overlay"]


def overlay_rgb(
    grey: np.ndarray,
    heatmap: np.ndarray,
    alpha: float = 0.45,
    cmap: str = "jet",
    vmin: float | None = None,
    vmax: float | None = None,
) -> np.ndarray:
    """Blend a [0, 1] grey image (or RGB) with a colour-mapped map at constant opacity; uint8 RGB.

    The map is scaled from ``[vmin, vmax]`` (default: its own min and max) to the colour map's range,
    then drawn with :func:`netloupe.viz.overlay.overlay` (``ramp=False``).
    """
    from .overlay import overlay

    m = np.asarray(heatmap, dtype=np.float32)
    lo = float(m.min()) if vmin is None else vmin
    hi = float(m.max()) if vmax is None else vmax
    m = np.clip((m - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(m)
    return np.asarray(overlay(np.asarray(grey), m, alpha=alpha, cmap=cmap, ramp=False))


def _save_figure(fig: object, path: PathLikeStr) -> Path:
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        return atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=100, bbox_inches="tight"), keep_suffix=True)  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]


def save_overlay(grey: np.ndarray, heatmap: np.ndarray, path: PathLikeStr, title: str = "") -> Path:
    """Image | map overlay side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
    axes[0].imshow(grey, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input")
    axes[1].imshow(overlay_rgb(grey, heatmap))
    axes[1].set_title(title or "map")
    for ax in axes:
        ax.axis("off")
    return _save_figure(fig, path)


def save_montage(
    volume: np.ndarray, heatmap: np.ndarray, path: PathLikeStr, axis: int = 2, n_slices: int = 12, title: str = ""
) -> Path:
    """Evenly spaced slices along ``axis`` with the map overlaid, as one PNG grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = volume.shape[axis]
    idx = np.unique(np.linspace(0, size - 1, min(n_slices, size)).round().astype(int))
    cols = min(6, len(idx))
    rows = int(np.ceil(len(idx) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    lo, hi = float(heatmap.min()), float(heatmap.max())
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), idx, strict=False):
        g = np.take(volume, i, axis=axis)
        ax.imshow(np.rot90(overlay_rgb(g, np.take(heatmap, i, axis=axis), vmin=lo, vmax=hi)))
        ax.set_title(f"slice {i}", fontsize=8)
    if title:
        fig.suptitle(title)
    return _save_figure(fig, path)
