"""The localization box of a map, as in the CAM paper's weakly supervised localization.

A thin adapter over :func:`netloupe.evaluation.boxes.boxes_from_maps` (Zhou et al. 2016, Sec. 3:
threshold at 20% of the maximum, bounding box of the largest 8-connected component) that returns the
inclusive pixel coordinates the page draws.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch

from ..evaluation.boxes import boxes_from_maps

__all__ = ["localization_box"]


def localization_box(heatmap: np.ndarray, threshold: float = 0.2) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (inclusive pixel coordinates) of the largest 8-connected region above
    ``threshold * max(heatmap)``; None for an all-zero (or non-finite) map."""
    arr = np.nan_to_num(np.asarray(heatmap, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if arr.size == 0 or float(arr.max()) <= 0:
        return None
    box = cast(torch.Tensor, boxes_from_maps(torch.from_numpy(arr)[None], threshold))  # mode="largest"
    x0, y0, x1, y1 = (int(v) for v in box[0].tolist())
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - 1, y1 - 1
