"""Colour maps for heatmaps, applied as lookup tables (uint8 RGB)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["apply_colormap"]


@lru_cache(maxsize=8)
def _lut(name: str) -> np.ndarray:
    from matplotlib import colormaps

    cmap = colormaps[name]
    return (cmap(np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def apply_colormap(values: np.ndarray, name: str = "turbo") -> np.ndarray:
    """Map values in [0, 1] (any shape) to uint8 RGB (shape + (3,)) with a matplotlib colour map."""
    idx = np.clip(np.nan_to_num(values, nan=0.0) * 255.0, 0, 255).astype(np.uint8)
    return _lut(name)[idx]
