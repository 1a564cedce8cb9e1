"""Type aliases shared across netloupe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Union

from torch import Tensor, nn

#: A function from model outputs (N, ...) to one score per sample (N,).
ScoreFn = Callable[[Tensor], Tensor]
#: A layer given by name ("layer4.1.conv2") or as the module itself.
LayerSpec = Union[str, nn.Module]
#: One or several layers; None means "choose automatically".
LayersSpec = Union[LayerSpec, Sequence[LayerSpec], None]
#: A transform from a layer's output to (N, C, *spatial), e.g. ViT tokens to a grid.
ReshapeFn = Callable[[Tensor], Tensor]
PathLikeStr = Union[str, "PathLike[str]"]

__all__ = ["LayerSpec", "LayersSpec", "PathLikeStr", "ReshapeFn", "ScoreFn"]
