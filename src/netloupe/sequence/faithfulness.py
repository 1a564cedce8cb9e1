"""Faithfulness of explanations over time: delete the top-attributed steps vs random steps.

Deletion (Petsiuk, Das & Saenko, 2018, "RISE"; for sequences as in Arras et al., 2017, "What is
relevant in a text document?"): replace the fraction f of steps with the highest attribution by a
baseline and record the target probability. A faithful explanation makes it fall faster than deleting
the same number of randomly chosen steps. The summary is the mean drop over fractions (AOPC-like).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import InputError

__all__ = ["DeletionCurves", "deletion_vs_random"]


@dataclass
class DeletionCurves:
    """Mean target probability after deleting a fraction of steps, ordered by attribution or at random."""

    fractions: list[float]
    attributed: list[float]
    random: list[float]

    @property
    def aopc_attributed(self) -> float:
        """Mean drop from the undeleted probability over the non-zero fractions (higher = more faithful)."""
        return sum(self.attributed[0] - v for v in self.attributed[1:]) / max(1, len(self.attributed) - 1)

    @property
    def aopc_random(self) -> float:
        return sum(self.random[0] - v for v in self.random[1:]) / max(1, len(self.random) - 1)


@torch.no_grad()
def deletion_vs_random(
    forward: Callable[..., Any],
    inputs: Tensor,
    per_step: Tensor,
    score: Callable[[Any], Tensor],
    *,
    lengths: Tensor | None = None,
    time_dim: int = 1,
    baseline: float = 0.0,
    fractions: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5),
    additional_args: tuple[Any, ...] = (),
    repeats: int = 5,
    seed: int = 0,
) -> DeletionCurves:
    """Deletion curves of ``per_step`` attributions (N, T) against random orders.

    Args:
        forward: the model (called as ``forward(inputs, *additional_args)``).
        inputs: ``(N, ...)`` with time at ``time_dim`` (embeddings for text).
        per_step: ``(N, T)`` attribution per step (higher = more important for the target).
        score: outputs -> ``(N,)`` probability of each sample's explained target.
        lengths: true lengths of padded batches (only real steps are deleted; fractions are of the length).
        repeats: random orders averaged.
    """
    t_axis = time_dim % inputs.ndim
    n, steps = inputs.shape[0], inputs.shape[t_axis]
    if per_step.shape != (n, steps):
        raise InputError(f"per_step: expected ({n}, {steps}), got {tuple(per_step.shape)}")
    lengths = torch.full((n,), steps, device=inputs.device) if lengths is None else lengths.to(inputs.device)
    valid = torch.arange(steps, device=inputs.device)[None] < lengths[:, None]
    gen = torch.Generator().manual_seed(seed)

    def curve(order_scores: Tensor) -> list[float]:
        ranks = order_scores.masked_fill(~valid, float("-inf")).argsort(1, descending=True).argsort(1)
        out = []
        for f in fractions:
            k = torch.ceil(f * lengths.float()).long()
            drop = (ranks < k[:, None]) & valid  # (N, T)
            shape = [n] + [1] * (inputs.ndim - 1)
            shape[t_axis] = steps
            x = torch.where(drop.view(shape), torch.full_like(inputs, baseline), inputs)
            out.append(float(score(forward(x, *additional_args)).mean()))
        return out

    attributed = curve(per_step.to(inputs.device).float())
    rand = [curve(torch.rand(n, steps, generator=gen).to(inputs.device)) for _ in range(repeats)]
    return DeletionCurves(list(fractions), attributed, [sum(c) / repeats for c in zip(*rand, strict=True)])
