"""Occlusion along one axis (time steps, tokens).

Zeiler & Fergus (2014), "Visualizing and understanding convolutional networks": replace a window of
the input by a baseline and record the drop of the target score, ``S(x) - S(x with window w occluded)``.
Here windows slide along one axis (time); each window's drop is spread evenly over its elements and
every element receives the mean over the windows that cover it, so that for non-overlapping windows
the attribution of a window sums to its drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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

__all__ = ["occlusion"]


def occlusion(
    forward: ForwardFn,
    inputs: Tensor,
    targets: TargetSpec = None,
    *,
    window: int = 1,
    stride: int | None = None,
    time_dim: int = 1,
    baseline: Tensor | float = 0.0,
    mask: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    additional_args: tuple[Any, ...] = (),
    max_batch: int = 2048,
) -> Attribution:
    """Occlusion (Zeiler & Fergus, 2014) of windows of ``window`` steps along ``time_dim``.

    Args:
        forward: the model, or a callable ``inputs -> outputs``.
        inputs: float tensor ``(N, ...)``; ``(N, T, E)`` token embeddings or ``(N, C, L)`` signals.
        targets: what to explain (see :mod:`netloupe.targets`).
        window: steps occluded at once.
        stride: step between windows (default: ``window``, i.e. non-overlapping).
        time_dim: the occluded axis of ``inputs`` (1 for ``(N, T, E)``, -1 for ``(N, C, L)``).
        baseline: replacement values, a constant or a tensor broadcastable to ``inputs``.
        mask: True on real elements; padding is never occluded and gets zero attribution.
        class_names: names for string targets.
        additional_args: further arguments of ``forward`` after the inputs (e.g. the lengths of a padded
            batch); tensors among them are per-sample and are repeated with the inputs in expanded batches.
        max_batch: at most this many occluded copies per forward pass.
    """
    check_inputs(inputs)
    x = inputs.detach()
    t_axis = time_dim % x.ndim
    if t_axis == 0:
        raise InputError("time_dim: must not be the batch axis 0")
    steps = x.shape[t_axis]
    stride = stride or window
    if window < 1 or stride < 1 or window > steps:
        raise InputError(f"window/stride: need 1 <= window <= {steps} and stride >= 1, got {window}/{stride}")
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    starts = list(range(0, steps - window + 1, stride))
    if starts[-1] + window < steps:
        starts.append(steps - window)
    n = x.shape[0]
    device = model_device(forward, inputs)
    idx = torch.arange(steps, device=x.device)
    m = expand_mask(mask, x)
    with rnn_backward_safe(device), torch.no_grad():
        target_set, scores = score_inputs(forward, x, targets, class_names, additional_args)
        k = scores.shape[1]
        total = torch.zeros((n, k, steps), dtype=x.dtype, device=x.device)
        count = torch.zeros(steps, dtype=x.dtype, device=x.device)
        per_chunk = max(1, max_batch // n)
        view = [1] * x.ndim
        view[t_axis] = steps
        for c0 in range(0, len(starts), per_chunk):
            chunk = torch.as_tensor(starts[c0 : c0 + per_chunk], device=x.device)
            win = (idx >= chunk[:, None]) & (idx < chunk[:, None] + window)  # (W, T)
            sel = win.view(len(chunk), 1, *view[1:])  # broadcast over (W, N, ...)
            if m is not None:
                sel = sel & m.unsqueeze(0)  # padding is never occluded
            occluded = torch.where(sel, base.unsqueeze(0), x.unsqueeze(0)).reshape(-1, *x.shape[1:])
            sample = torch.arange(n, device=x.device).repeat(len(chunk))
            out = call_forward(forward, occluded, additional_args, sample)
            s = target_scores(target_set, out, sample).view(len(chunk), n, k)
            drop = scores.unsqueeze(0) - s  # (W, N, K)
            total += torch.einsum("wnk,wt->nkt", drop, win.to(x.dtype)) / window
            count += win.to(x.dtype).sum(0)
    per_step = total / count.clamp(min=1)  # (N, K, T)
    elems = x[(slice(None),) * t_axis + (0,)].numel() // n  # elements per step
    shape = [n, k] + [1] * (x.ndim - 1)
    shape[t_axis + 1] = steps
    values = (per_step / elems).view(shape).expand(n, k, *x.shape[1:]).clone()
    if m is not None:
        values = values * m.unsqueeze(1)
    return Attribution(values=values, scores=scores, class_ids=target_set.class_ids, method="occlusion")
