"""The localization box of a map, as in the CAM paper's weakly supervised localization.

Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016, section 3: segment the
map at 20% of its maximum value and take the bounding box of the largest connected component.
"""

from __future__ import annotations

import numpy as np

__all__ = ["localization_box"]


def localization_box(heatmap: np.ndarray, threshold: float = 0.2) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (inclusive pixel coordinates) of the largest 8-connected region where
    ``heatmap >= threshold * max(heatmap)``; None for an all-zero (or non-finite) map.

    Ties between equally large regions go to the one whose first pixel comes first in row-major order.
    """
    from scipy import ndimage

    arr = np.nan_to_num(np.asarray(heatmap, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(arr.max()) if arr.size else 0.0
    if peak <= 0:
        return None
    mask = arr >= threshold * peak
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    best = int(sizes.argmax())
    ys, xs = np.nonzero(labels == best)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
