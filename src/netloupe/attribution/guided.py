"""Guided backpropagation and Guided Grad-CAM (input-resolution, class-discriminative detail)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._state import eval_mode
from .._typing import LayersSpec
from ..cam.engine import explain
from ..errors import InputError
from ..targets import TargetSet, TargetSpec, resolve_targets

__all__ = ["GUIDED_ACTIVATIONS", "guided_backprop", "guided_gradcam"]

#: Activation modules whose backward is "guided" (negative gradients stopped at their output).
GUIDED_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SiLU,
    nn.GELU,
    nn.Hardswish,
    nn.Mish,
)


class _PositiveGradient(torch.autograd.Function):
    """Identity forward; backward lets only positive gradients through."""

    @staticmethod
    def forward(ctx: object, x: Tensor) -> Tensor:
        return x.clone()

    @staticmethod
    def backward(ctx: object, grad: Tensor) -> Tensor:
        return grad.clamp(min=0)


def _guide(_module: nn.Module, _inp: object, out: Tensor) -> Tensor:
    result: Tensor = _PositiveGradient.apply(out)
    return result


def guided_backprop(
    model: nn.Module,
    inputs: Tensor,
    targets: TargetSpec | TargetSet = None,
    class_names: Sequence[str] | None = None,
) -> tuple[Tensor, TargetSet]:
    """Guided backpropagation (Springenberg et al. 2015): ``(N, K, C, *S)`` input gradients.

    At every activation module, the backward pass keeps only positive gradients; combined with the
    activation's own derivative (zero where its input was negative for ReLU), this is the "guided"
    rule. The hooks act on module outputs, so activations called as functions (``F.relu``) are not
    guided. Returns the gradients and the resolved targets.
    """
    if not isinstance(inputs, Tensor) or inputs.ndim < 3:
        raise InputError("inputs: expected a (N, C, *spatial) tensor")
    handles = [m.register_forward_hook(_guide) for m in model.modules() if isinstance(m, GUIDED_ACTIVATIONS)]
    x = inputs.detach().clone().requires_grad_(True)
    try:
        with eval_mode(model), torch.enable_grad():
            outputs = model(x)
            target_set = (
                targets if isinstance(targets, TargetSet) else resolve_targets(targets, outputs.detach(), class_names)
            )
            scores = target_set.scores(outputs)
            grads = [
                torch.autograd.grad(scores[:, k].sum(), x, retain_graph=k < scores.shape[1] - 1)[0]
                for k in range(scores.shape[1])
            ]
    finally:
        for h in handles:
            h.remove()
    return torch.stack(grads, dim=1), target_set


def guided_gradcam(
    model: nn.Module,
    inputs: Tensor,
    targets: TargetSpec = None,
    layer: LayersSpec = None,
    class_names: Sequence[str] | None = None,
) -> Tensor:
    """Guided Grad-CAM (Selvaraju et al. 2017): guided backprop times the upsampled Grad-CAM map.

    Returns ``(N, K, C, *S)`` signed input-resolution attributions for the same targets.
    """
    cam = explain(model, inputs, "gradcam", targets, layer, class_names=class_names)
    fixed = TargetSet(class_ids=cam.class_ids) if cam.class_ids is not None else targets
    grads, _ = guided_backprop(model, inputs, fixed, class_names)
    return grads * cam.maps["gradcam"].unsqueeze(2)
