"""Targets for sequence outputs, in the style of :mod:`netloupe.targets`: callables ``outputs -> (N,)``.

A tagger's outputs are per-token logits ``(N, T, C)`` (or a :class:`~netloupe.sequence.models.TaggerOutput`
with ``slots`` and ``intent``); a plain many-to-one classifier's outputs are ``(N, C)`` and use
:class:`netloupe.targets.ClassTarget` like images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor

from ..errors import TargetError

__all__ = ["IntentTarget", "SlotTarget"]


def _slots(outputs: Any) -> Tensor:
    slots = getattr(outputs, "slots", outputs)
    if not isinstance(slots, Tensor) or slots.ndim != 3:
        raise TargetError("SlotTarget: expected per-token outputs (N, T, C) or an object with .slots")
    return slots


@dataclass(frozen=True)
class SlotTarget:
    """The logit of slot tag ``tag`` at token ``position`` (a slot at position t)."""

    position: int
    tag: int

    def __call__(self, outputs: Any) -> Tensor:
        slots = _slots(outputs)
        if not 0 <= self.position < slots.shape[1] or not 0 <= self.tag < slots.shape[2]:
            raise TargetError(
                f"SlotTarget: position must be in [0, {slots.shape[1] - 1}] and tag in "
                f"[0, {slots.shape[2] - 1}], "
                f"got position={self.position}, tag={self.tag}"
            )
        return slots[:, self.position, self.tag]


@dataclass(frozen=True)
class IntentTarget:
    """The logit of utterance-level class ``index`` (a joint model's intent)."""

    index: int

    def __call__(self, outputs: Any) -> Tensor:
        intent = getattr(outputs, "intent", None)
        if intent is None and isinstance(outputs, Tensor) and outputs.ndim == 2:
            intent = outputs
        if intent is None:
            raise TargetError("IntentTarget: expected outputs with .intent or (N, C) logits")
        if not 0 <= self.index < intent.shape[1]:
            raise TargetError(f"IntentTarget: index must be in [0, {intent.shape[1] - 1}], got {self.index}")
        return intent[:, self.index]
