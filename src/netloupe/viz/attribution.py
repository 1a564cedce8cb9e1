"""Display of signed pixel attributions (guided backpropagation, Guided Grad-CAM, gradients).

Gradient attributions are heavy-tailed: a few pixels are orders of magnitude larger than the rest, so
scaling by the maximum absolute value leaves almost every pixel at mid-grey. The display here scales by a
high percentile of the absolute values instead (and clips the few pixels beyond it), the usual choice for
showing guided backpropagation (Springenberg et al., ICLR 2015 workshop) and Guided Grad-CAM (Selvaraju
et al., ICCV 2017): zero stays mid-grey, positive and negative evidence spread over the whole range.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError

__all__ = ["attribution_to_rgb"]


def attribution_to_rgb(attribution: np.ndarray | torch.Tensor, percentile: float = 99.0) -> np.ndarray:
    """A signed attribution as an image in [0, 1]: ``0.5 + 0.5 * a / s`` clipped, ``s`` a percentile of ``|a|``.

    Args:
        attribution: ``(C, H, W)`` (a model input's layout), ``(H, W, C)`` or ``(H, W)``.
        percentile: the percentile of ``|a|`` mapped to black / white (100: the maximum, the old display).

    Returns:
        ``(H, W, C)`` or ``(H, W)`` float32 in [0, 1]; all 0.5 for an all-zero attribution.
    """
    arr = attribution.detach().float().cpu().numpy() if isinstance(attribution, torch.Tensor) else attribution
    arr = np.asarray(arr, dtype=np.float64)
    if not 0.0 < percentile <= 100.0:
        raise InputError(f"percentile: expected a value in (0, 100], got {percentile}")
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    if arr.ndim not in (2, 3):
        raise InputError(f"attribution: expected (C, H, W), (H, W, C) or (H, W), got shape {arr.shape}")
    magnitude = np.abs(arr[np.isfinite(arr)])
    scale = float(np.percentile(magnitude, percentile)) if magnitude.size else 0.0
    if scale <= 0.0:
        scale = float(magnitude.max()) if magnitude.size and magnitude.max() > 0 else 1.0
    out = 0.5 + 0.5 * np.nan_to_num(arr, nan=0.0) / scale
    if out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    return np.clip(out, 0.0, 1.0).astype(np.float32)
