"""Feature maps of one layer for one input, the raw material of an activation grid.

Zeiler & Fergus (2014) and Yosinski et al. (2015) show a layer's feature maps ``A^k = f_k(x)`` side by
side: each map is one channel of the layer's output, with spatial extent, for one input.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._typing import LayerSpec
from ..errors import InputError
from ..layers import auto_layer, resolve_layer
from ._hooks import run_and_capture

__all__ = ["layer_activations", "strongest_channels"]


def layer_activations(model: nn.Module, inputs: Tensor, layer: LayerSpec) -> Tensor:
    """The output of ``layer`` for ``inputs``, ``(N, C, *spatial)``, from one no-grad eval forward.

    Raises:
        InputError: the layer's output has no spatial (or temporal) extent, e.g. a linear head.
    """
    name, _ = resolve_layer(model, layer)
    if inputs.ndim < 3:
        raise InputError(f"inputs: expected (N, C, *spatial), got shape {tuple(inputs.shape)}")
    out = run_and_capture(model, name, inputs)
    if out.ndim != inputs.ndim or math.prod(out.shape[2:]) <= 1:
        try:
            hint = f"; the last layer with spatial output is {auto_layer(model, inputs)!r}"
        except InputError:
            hint = ""
        raise InputError(
            f"layer: {name!r} outputs shape {tuple(out.shape)}, which has no spatial extent to draw "
            "as feature "
            f"maps; pick a convolutional layer{hint}"
        )
    return out


def strongest_channels(activations: Tensor, n: int) -> Tensor:
    """Indices of the ``n`` channels with the largest mean activation, per the first sample, descending."""
    if activations.ndim < 3:
        raise InputError(f"activations: expected (N, C, *spatial), got shape {tuple(activations.shape)}")
    means = activations[0].flatten(1).mean(dim=1)
    return torch.argsort(means, descending=True)[: max(1, min(n, means.numel()))]
