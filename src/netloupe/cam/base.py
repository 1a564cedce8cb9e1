"""The CAM method contract: one small class per method overriding one narrow function.

The engine (``engine.py``) owns hooks, the shared pass, targets, the ReLU/sign policy, upsampling,
normalisation and multi-layer fusion. A method only turns a layer's activations (and gradients) into
a raw, signed map. Most methods subclass :class:`WeightedCAM` and override ``channel_weights`` (one
weight per channel and target); element-wise methods override :meth:`CAMMethod.raw_map` instead.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import Tensor, nn

from ..targets import TargetSet
from ._capture import Capture, LayerCapture
from ._passes import Passes

__all__ = ["CAMContext", "CAMMethod", "WeightedCAM", "spatial_dims"]


def spatial_dims(t: Tensor, first: int) -> tuple[int, ...]:
    """The indices of the spatial dimensions of ``t`` from dimension ``first`` on."""
    return tuple(range(first, t.ndim))


@dataclass
class CAMContext:
    """Everything a method may use for one target layer.

    Attributes:
        layer: this layer's activations ``(N, C, *S)`` and gradients ``(N, K, C, *S)``.
        capture: the whole shared pass (outputs, scores, head input for CAM).
        targets: the K targets per sample.
        model: the network (methods that run extra passes call it through ``forward_masked`` /
            ``forward_replaced`` below, never with hooks of their own).
        inputs: the batch ``(N, C_in, *S_in)``.
        forward: no-grad forward of the model on a new batch -> outputs.
        forward_replaced: no-grad forward of ``inputs[rows]`` with this layer's output replaced.
        recapture: a fresh shared pass on new inputs whose rows belong to samples ``rows`` (same layer,
            same targets) -> LayerCapture.
        batch_size: how many extra inputs a perturbation method may run at once.
        passes: progress and cancellation of extra passes: call ``passes.step()`` after each batch.
    """

    layer: LayerCapture
    capture: Capture
    targets: TargetSet
    model: nn.Module
    inputs: Tensor
    forward: Callable[[Tensor], Tensor]
    forward_replaced: Callable[[Tensor, Tensor], Tensor]
    recapture: Callable[[Tensor, Tensor], LayerCapture]
    batch_size: int = 64
    passes: Passes = field(default_factory=Passes)

    @property
    def activations(self) -> Tensor:
        return self.layer.activations

    @property
    def gradients(self) -> Tensor:
        if self.layer.gradients is None:
            raise RuntimeError("this method declared needs_gradients=False but asked for gradients")
        return self.layer.gradients


class CAMMethod(abc.ABC):
    """Base of every class activation map method: turns one layer's capture into a raw signed map.

    Class attributes describe capabilities so the engine can plan one pass for many methods:
    ``needs_gradients`` (a backward to the layer is required), ``needs_head`` (the linear head's input
    must be recorded), ``class_specific`` (False for maps that ignore the target, e.g. Eigen-CAM).
    """

    name: ClassVar[str]
    paper: ClassVar[str] = ""
    needs_gradients: ClassVar[bool] = True
    needs_head: ClassVar[bool] = False
    class_specific: ClassVar[bool] = True

    @abc.abstractmethod
    def raw_map(self, ctx: CAMContext) -> Tensor:
        """The signed map ``(N, K, *S)`` at the layer's resolution, before ReLU and normalisation."""

    def extra_passes(self, ctx: CAMContext) -> int:
        """How many batches of extra forward passes :meth:`raw_map` will run (each followed by
        ``ctx.passes.step()``); 0 for methods that only use the shared pass."""
        return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class WeightedCAM(CAMMethod):
    """A map that is a weighted sum of the activation maps: ``M = sum_c w_c A_c``."""

    @abc.abstractmethod
    def channel_weights(self, ctx: CAMContext) -> Tensor:
        """Per-channel weights ``(N, K, C)``."""

    def raw_map(self, ctx: CAMContext) -> Tensor:
        weights = self.channel_weights(ctx)
        acts = ctx.activations
        return torch.einsum("nkc,nc...->nk...", weights.to(acts.dtype), acts)
