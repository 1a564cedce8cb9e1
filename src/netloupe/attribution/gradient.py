"""Gradient x input attribution.

Shrikumar, Greenside, Shcherbina & Kundaje (2016), "Not just a black box: learning important features
through propagating activation differences": the attribution of input element x_j to the target score
S is ``x_j * dS/dx_j`` (the gradient is the saliency of Simonyan, Vedaldi & Zisserman, 2014).
For sequences, summing over the feature (embedding) axis gives one value per token / time step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..targets import TargetSpec
from ._core import (
    Attribution,
    ForwardFn,
    check_inputs,
    expand_mask,
    model_device,
    rnn_backward_safe,
    score_inputs,
)

__all__ = ["gradient_x_input", "input_gradients"]


def input_gradients(
    forward: ForwardFn,
    inputs: Tensor,
    targets: TargetSpec = None,
    *,
    class_names: Sequence[str] | None = None,
    additional_args: tuple[Any, ...] = (),
) -> tuple[Tensor, Tensor, Tensor | None]:
    """``dS_k/dx`` for each target k: returns gradients ``(N, K, *x)``, scores ``(N, K)`` and class ids.

    Gradients are taken with ``torch.autograd.grad`` with respect to a detached copy of ``inputs``, so
    parameter ``.grad`` fields and the model's mode are untouched; recurrent layers on GPU run with
    cuDNN disabled (see :func:`rnn_backward_safe`).
    """
    check_inputs(inputs)
    x = inputs.detach().clone().requires_grad_(True)
    with rnn_backward_safe(model_device(forward, inputs)), torch.enable_grad():
        target_set, scores = score_inputs(forward, x, targets, class_names, additional_args)
        grads = [
            torch.autograd.grad(scores[:, k].sum(), x, retain_graph=k + 1 < scores.shape[1], allow_unused=True)[0]
            for k in range(scores.shape[1])
        ]
    grads = [torch.zeros_like(x) if g is None else g for g in grads]
    return torch.stack(grads, 1), scores.detach(), target_set.class_ids


def gradient_x_input(
    forward: ForwardFn,
    inputs: Tensor,
    targets: TargetSpec = None,
    *,
    mask: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    additional_args: tuple[Any, ...] = (),
) -> Attribution:
    """Gradient x input (Shrikumar et al., 2016): ``A_j = x_j * dS/dx_j``.

    Args:
        forward: the model, or a callable from ``inputs`` to outputs (e.g. a token model's
            ``forward_embedded`` with the lengths bound).
        inputs: float tensor ``(N, ...)``; for tokens, their embeddings ``(N, T, E)``.
        targets: what to explain (see :mod:`netloupe.targets`).
        mask: True where an element is real, False on padding (``(N, T)`` for ``(N, T, D)`` inputs);
            padding gets exactly zero attribution.
        class_names: names for string targets.
        additional_args: further arguments of ``forward`` after the inputs (e.g. the lengths of a padded
            batch); tensors among them are per-sample and are repeated with the inputs in expanded batches.

    Returns:
        :class:`Attribution` with ``values`` of shape ``(N, K, *inputs.shape[1:])``.
    """
    grads, scores, class_ids = input_gradients(
        forward, inputs, targets, class_names=class_names, additional_args=additional_args
    )
    values = grads * inputs.detach().unsqueeze(1)
    m = expand_mask(mask, inputs)
    if m is not None:
        values = values * m.unsqueeze(1)
    return Attribution(values=values, scores=scores, class_ids=class_ids, method="gradient_x_input")
