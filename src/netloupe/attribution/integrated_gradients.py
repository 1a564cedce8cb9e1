"""Integrated Gradients.

Sundararajan, Taly & Yan (2017), "Axiomatic attribution for deep networks": for a baseline x' the
attribution of element j is

    IG_j(x) = (x_j - x'_j) * integral_0^1 dS(x' + a (x - x')) / dx_j  da,

approximated here by Gauss-Legendre quadrature on [0, 1]. IG satisfies *completeness*:
``sum_j IG_j(x) = S(x) - S(x')``; the remaining quadrature error is reported as ``extras["delta"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..targets import TargetSpec
from ._core import (
    Attribution,
    ForwardFn,
    call_forward,
    check_inputs,
    expand_mask,
    model_device,
    rnn_backward_safe,
    score_inputs,
    target_scores,
)

__all__ = ["integrated_gradients"]


def _nodes(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights mapped from [-1, 1] to [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(steps)
    return (x + 1) / 2, w / 2


def integrated_gradients(
    forward: ForwardFn,
    inputs: Tensor,
    targets: TargetSpec = None,
    *,
    baseline: Tensor | float = 0.0,
    steps: int = 32,
    mask: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    additional_args: tuple[Any, ...] = (),
    max_batch: int = 4096,
) -> Attribution:
    """Integrated Gradients (Sundararajan et al., 2017) along the straight path from ``baseline``.

    Args:
        forward: the model, or a callable ``inputs -> outputs``.
        inputs: float tensor ``(N, ...)`` (token embeddings ``(N, T, E)`` for text).
        targets: what to explain (see :mod:`netloupe.targets`); class targets are fixed on ``inputs``.
        baseline: the reference input (a tensor broadcastable to ``inputs`` or a constant; 0 by default).
        steps: quadrature nodes (Gauss-Legendre).
        mask: True on real elements; on padding the baseline equals the input, so padding gets exactly
            zero attribution and the path never changes it.
        class_names: names for string targets.
        additional_args: further arguments of ``forward`` after the inputs (e.g. the lengths of a padded
            batch); tensors among them are per-sample and are repeated with the inputs in expanded batches.
        max_batch: at most this many interpolated rows per forward pass.

    Returns:
        :class:`Attribution`; ``extras`` holds ``delta`` = sum(IG) - (S(x) - S(x')) per (sample, target)
        and ``baseline_scores``.
    """
    check_inputs(inputs)
    if steps < 1:
        raise InputError(f"steps: must be >= 1, got {steps}")
    x = inputs.detach()
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    m = expand_mask(mask, x)
    if m is not None:
        base = torch.where(m, base, x)
    diff = x - base
    n = x.shape[0]
    alphas, weights = _nodes(steps)
    device = model_device(forward, inputs)
    with rnn_backward_safe(device), torch.no_grad():
        target_set, scores = score_inputs(forward, x, targets, class_names, additional_args)
        baseline_scores = target_scores(target_set, call_forward(forward, base, additional_args))
    k_targets = scores.shape[1]
    total = torch.zeros((n, k_targets, *x.shape[1:]), dtype=x.dtype, device=x.device)
    per_chunk = max(1, max_batch // n)
    for start in range(0, steps, per_chunk):
        a = torch.as_tensor(alphas[start : start + per_chunk], dtype=x.dtype, device=x.device)
        w = torch.as_tensor(weights[start : start + per_chunk], dtype=x.dtype, device=x.device)
        c = a.shape[0]
        shape = (c,) + (1,) * x.ndim
        path = (base.unsqueeze(0) + a.view(shape) * diff.unsqueeze(0)).reshape(c * n, *x.shape[1:])
        path.requires_grad_(True)
        sample = torch.arange(n, device=x.device).repeat(c)
        with rnn_backward_safe(device), torch.enable_grad():
            s = target_scores(target_set, call_forward(forward, path, additional_args, sample), sample)
            for k in range(k_targets):
                (g,) = torch.autograd.grad(s[:, k].sum(), path, retain_graph=k + 1 < k_targets, allow_unused=True)
                if g is None:
                    continue
                total[:, k] += (g.view(c, n, *x.shape[1:]) * w.view(shape)).sum(0)
    values = total * diff.unsqueeze(1)
    delta = values.reshape(n, k_targets, -1).sum(-1) - (scores - baseline_scores)
    return Attribution(
        values=values,
        scores=scores,
        class_ids=target_set.class_ids,
        method="integrated_gradients",
        extras={"delta": delta, "baseline_scores": baseline_scores},
    )
