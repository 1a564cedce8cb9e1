"""Convolution kernels as pictures: the first layer as colour tiles, deeper layers per channel or aggregated.

The first layer of an image CNN sees RGB pixels, so each of its kernels ``(3, kh, kw)`` can be drawn as a
small colour image (Krizhevsky et al. 2012, Fig. 3; Zeiler & Fergus 2014). Deeper kernels have many input
channels; they are drawn either per (filter, input channel) pair as grey tiles, or aggregated over the
input channels (signed mean, or L2 norm = where the kernel has energy). 1-D kernels ``(C_in, k)`` are
drawn as strips (one row per input channel); 3-D kernels ``(C_in, kd, kh, kw)`` by their central depth
slice ``kd // 2``.

Scaling (how weights become grey levels in [0, 1]):

* ``"shared"`` — one range for the whole layer. Signed weights map as ``0.5 + 0.5 * w / max|W|`` (zero is
  mid-grey, the largest magnitude in the layer reaches black/white); non-negative aggregates (``"norm"``)
  map as ``w / max W``. Magnitudes stay comparable across filters; weak filters look flat.
* ``"per-filter"`` — each tile is min-max scaled on its own, ``(w - min) / (max - min)`` (a constant tile
  becomes mid-grey). Every pattern is visible, but magnitudes are no longer comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from .._typing import LayerSpec
from ..errors import InputError
from ..layers import resolve_layer

__all__ = [
    "FilterMode",
    "FilterScale",
    "KernelTiles",
    "first_conv_layer",
    "kernel_tiles",
    "layer_kernel_tiles",
]

FilterMode = Literal["auto", "rgb", "channels", "mean", "norm"]
FilterScale = Literal["shared", "per-filter"]
_MODES = ("auto", "rgb", "channels", "mean", "norm")
_SCALES = ("shared", "per-filter")
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass
class KernelTiles:
    """Kernels ready to draw.

    Attributes:
        tiles: ``(rows, cols, h, w, C)`` values in [0, 1], C = 1 (grey) or 3 (RGB).
        mode: the drawing mode actually used.
        scale: the scaling used.
        weight_shape: shape of the original weight tensor.
        row_label: what a grid row is ("filter" or "filter (rows) x input channel (columns)").
        value_range: (low, high) weights that map to 0 and 1 under shared scaling, else None.
    """

    tiles: Tensor
    mode: str
    scale: str
    weight_shape: tuple[int, ...]
    row_label: str
    value_range: tuple[float, float] | None = None


def _is_conv(module: nn.Module) -> bool:
    """A Conv1d/2d/3d, also inside a TorchScript model (whose modules keep their ``original_name``)."""
    if isinstance(module, _CONV):
        return True
    weight = getattr(module, "weight", None)
    return (
        str(getattr(module, "original_name", "")) in ("Conv1d", "Conv2d", "Conv3d")
        and isinstance(weight, torch.Tensor)
        and 3 <= weight.ndim <= 5
    )


def first_conv_layer(model: nn.Module) -> str:
    """Name of the first convolution of ``model`` (module registration order)."""
    for name, module in model.named_modules():
        if _is_conv(module):
            return name
    raise InputError("layer: the model has no Conv1d/Conv2d/Conv3d layer whose kernels could be drawn")


def _to_2d(weight: Tensor) -> Tensor:
    """Any conv weight -> ``(F, C, h, w)``: 1-D kernels as (C_in, k) strips, 3-D by the central slice."""
    if weight.ndim == 3:  # (F, C, k): one grey strip per filter, one row per input channel
        return weight[:, None, :, :]
    if weight.ndim == 4:
        return weight
    if weight.ndim == 5:
        return weight[:, :, weight.shape[2] // 2]
    raise InputError(
        f"weight: expected a conv kernel of 3 (1-D), 4 (2-D) or 5 (3-D) dims, got shape {tuple(weight.shape)}"
    )


def _scale_tiles(t: Tensor, scale: str, signed: bool) -> tuple[Tensor, tuple[float, float] | None]:
    """``t`` of shape (rows, cols, h, w, C) -> [0, 1] by the documented rule."""
    if scale == "shared":
        if signed:
            m = float(t.abs().max())
            m = m if m > 0 else 1.0
            return 0.5 + 0.5 * t / m, (-m, m)
        m = float(t.max())
        m = m if m > 0 else 1.0
        return t / m, (0.0, m)
    flat = t.flatten(2)
    lo = flat.min(dim=2).values[:, :, None, None, None]
    hi = flat.max(dim=2).values[:, :, None, None, None]
    span = hi - lo
    out = torch.where(span > 0, (t - lo) / span.clamp_min(1e-30), torch.full_like(t, 0.5))
    return out, None


def kernel_tiles(
    weight: Tensor,
    mode: FilterMode = "auto",
    scale: FilterScale = "shared",
    max_filters: int | None = 64,
    max_channels: int | None = 16,
) -> KernelTiles:
    """Turn a conv weight tensor into tiles for a grid (see the module docstring for modes and scaling).

    Args:
        weight: ``(F, C_in, k)``, ``(F, C_in, kh, kw)`` or ``(F, C_in, kd, kh, kw)``.
        mode: ``"rgb"`` (needs C_in = 3; one colour tile per filter), ``"channels"`` (one grey tile per
            filter and input channel), ``"mean"`` (signed mean over input channels), ``"norm"`` (L2 norm
            over input channels), ``"auto"`` (rgb when C_in = 3, channels when C_in = 1, else mean).
        scale: ``"shared"`` or ``"per-filter"``.
        max_filters: draw at most this many filters (the first ones); None for all.
        max_channels: in ``"channels"`` mode, at most this many input channels; None for all.
    """
    if mode not in _MODES:
        raise InputError(f"mode: expected one of {', '.join(_MODES)}, got {mode!r}")
    if scale not in _SCALES:
        raise InputError(f"scale: expected one of {', '.join(_SCALES)}, got {scale!r}")
    w = _to_2d(weight.detach().float().cpu())
    for param, value in (("max_filters", max_filters), ("max_channels", max_channels)):
        if value is not None and value < 1:
            raise InputError(f"{param}: expected >= 1 (or None for all), got {value}")
    if max_filters is not None:
        w = w[:max_filters]
    cin = w.shape[1]
    if mode == "auto":
        mode = "rgb" if cin == 3 and weight.ndim == 4 else ("channels" if cin == 1 else "mean")
    if mode == "rgb":
        if cin != 3:
            raise InputError(f"mode: 'rgb' needs kernels with 3 input channels, this layer has {cin}")
        tiles = w.permute(0, 2, 3, 1)[None]  # (1, F, h, w, 3)
        row_label = "filter (RGB)"
        signed = True
    elif mode == "channels":
        if max_channels is not None:
            w = w[:, :max_channels]
        tiles = w[..., None]  # (F, C, h, w, 1)
        row_label = "filter (rows) x input channel (columns)"
        signed = True
    elif mode == "mean":
        tiles = w.mean(dim=1)[None, ..., None]
        row_label = "filter (mean over input channels)"
        signed = True
    else:
        tiles = w.pow(2).sum(dim=1).sqrt()[None, ..., None]
        row_label = "filter (L2 norm over input channels)"
        signed = False
    scaled, value_range = _scale_tiles(tiles, scale, signed)
    return KernelTiles(
        tiles=scaled.clamp(0, 1),
        mode=mode,
        scale=scale,
        weight_shape=tuple(weight.shape),
        row_label=row_label,
        value_range=value_range,
    )


def layer_kernel_tiles(
    model: nn.Module,
    layer: LayerSpec | None = None,
    mode: FilterMode = "auto",
    scale: FilterScale = "shared",
    max_filters: int | None = 64,
    max_channels: int | None = 16,
) -> tuple[str, KernelTiles]:
    """:func:`kernel_tiles` of a named conv layer of ``model`` (default: the first conv layer)."""
    name, module = resolve_layer(model, layer if layer is not None else first_conv_layer(model))
    if not _is_conv(module):
        raise InputError(
            f"layer: {name!r} is a {type(module).__name__}, not a Conv1d/Conv2d/Conv3d; its kernels cannot be drawn"
        )
    weight = module.weight
    if not isinstance(weight, torch.Tensor):
        raise InputError(f"layer: {name!r} has no weight tensor")
    return name, kernel_tiles(weight, mode, scale, max_filters, max_channels)
