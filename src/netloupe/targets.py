"""What to explain: a score per sample derived from the model's outputs.

A *target* is any callable ``outputs (N, ...) -> scores (N,)``. Class targets are the common case and
are resolved to a ``(N, K)`` tensor of class indices, so that K classes (top-k) share one forward
pass and methods that need a class index (CAM, Score-CAM) can use it.

Single-logit (sigmoid) classifiers, ``outputs`` of shape (N, 1), follow one documented convention:
class 1 ("positive") is explained by the logit ``+z`` and class 0 ("negative") by ``-z``; their
probabilities are ``sigmoid(z)`` and ``1 - sigmoid(z)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import TargetError, did_you_mean

__all__ = [
    "ClassTarget",
    "SoftmaxTarget",
    "TargetSet",
    "TargetSpec",
    "TopK",
    "probabilities",
    "resolve_targets",
]


@dataclass(frozen=True)
class ClassTarget:
    """The raw logit of one class (the pre-softmax score, as in Grad-CAM)."""

    index: int

    def __call__(self, outputs: Tensor) -> Tensor:
        return _class_scores(outputs, torch.full((outputs.shape[0], 1), self.index, device=outputs.device))[:, 0]


@dataclass(frozen=True)
class SoftmaxTarget:
    """The softmax probability of one class."""

    index: int

    def __call__(self, outputs: Tensor) -> Tensor:
        return probabilities(outputs)[:, self.index]


@dataclass(frozen=True)
class TopK:
    """The k highest-scoring classes of each sample, one map each."""

    k: int = 1

    def __post_init__(self) -> None:
        if self.k < 1:
            raise TargetError(f"top_k: must be >= 1, got {self.k}")


TargetSpec = int | str | Sequence[int] | TopK | Callable[[Tensor], Tensor] | Sequence[Callable[[Tensor], Tensor]] | None


def probabilities(outputs: Tensor) -> Tensor:
    """Class probabilities: softmax for multi-class logits, (1 - p, p) for a single sigmoid logit."""
    logits = outputs.reshape(outputs.shape[0], -1).float()
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], dim=1)
    return torch.softmax(logits, dim=1)


def _num_classes(outputs: Tensor) -> int:
    n = outputs.reshape(outputs.shape[0], -1).shape[1]
    return 2 if n == 1 else n


def _class_scores(outputs: Tensor, class_ids: Tensor) -> Tensor:
    logits = outputs.reshape(outputs.shape[0], -1)
    if logits.shape[1] == 1:  # single sigmoid logit: class 1 -> +z, class 0 -> -z
        z = logits.expand_as(class_ids)
        return torch.where(class_ids == 1, z, -z)
    return logits.gather(1, class_ids)


@dataclass
class TargetSet:
    """K targets per sample: either class indices ``(N, K)`` or K callables."""

    class_ids: Tensor | None
    functions: tuple[Callable[[Tensor], Tensor], ...] = ()

    @property
    def k(self) -> int:
        return self.class_ids.shape[1] if self.class_ids is not None else len(self.functions)

    def scores(self, outputs: Tensor) -> Tensor:
        """``(N, K)`` scores whose gradients are explained."""
        if self.class_ids is not None:
            return _class_scores(outputs, self.class_ids)
        return torch.stack([fn(outputs).reshape(outputs.shape[0]) for fn in self.functions], dim=1)

    def expanded_scores(self, outputs: Tensor, sample: Tensor, k: int, softmax: bool) -> Tensor:
        """Scores of target ``k`` for extra forward passes whose rows belong to samples ``sample``.

        Used by methods that run masked or ablated copies of the inputs (Score-CAM, Ablation-CAM).
        """
        if self.class_ids is not None:
            ids = self.class_ids[sample, k : k + 1]
            if softmax:
                return probabilities(outputs).gather(1, ids)[:, 0]
            return _class_scores(outputs, ids)[:, 0]
        return self.functions[k](outputs).reshape(outputs.shape[0])


def resolve_targets(spec: TargetSpec, outputs: Tensor, class_names: Sequence[str] | None = None) -> TargetSet:
    """Turn a user's target specification into a :class:`TargetSet` for these outputs."""
    n = outputs.shape[0]
    num_classes = _num_classes(outputs)
    device = outputs.device

    def check(idx: int) -> int:
        if not 0 <= idx < num_classes:
            raise TargetError(f"target: class index must be in [0, {num_classes - 1}], got {idx}")
        return idx

    if spec is None:
        spec = TopK(1)
    if isinstance(spec, TopK):
        if spec.k > num_classes:
            raise TargetError(f"top_k: the model has {num_classes} classes, got top_k={spec.k}")
        probs = probabilities(outputs.detach())
        return TargetSet(class_ids=probs.topk(spec.k, dim=1).indices)
    if isinstance(spec, bool):
        raise TargetError("target: expected a class index, a class name, TopK or a callable, got a bool")
    if isinstance(spec, int):
        return TargetSet(class_ids=torch.full((n, 1), check(spec), dtype=torch.long, device=device))
    if isinstance(spec, str):
        return TargetSet(class_ids=torch.full((n, 1), _class_index(spec, class_names), device=device))
    if callable(spec):
        return TargetSet(class_ids=None, functions=(spec,))
    if isinstance(spec, Sequence) and len(spec) > 0:
        if all(callable(s) for s in spec):
            return TargetSet(class_ids=None, functions=tuple(spec))  # type: ignore[arg-type]
        if all(isinstance(s, int) and not isinstance(s, bool) for s in spec):
            if len(spec) != n:
                raise TargetError(f"target: a list of class indices needs one per sample ({n}), got {len(spec)}")
            ids = [check(int(s)) for s in spec if isinstance(s, int)]
            return TargetSet(class_ids=torch.tensor(ids, dtype=torch.long, device=device)[:, None])
    raise TargetError(
        "target: expected None (predicted class), a class index, a class name, a list of indices (one per "
        f"sample), TopK(k), or callables returning one score per sample; got {spec!r}"
    )


def _class_index(name: str, class_names: Sequence[str] | None) -> int:
    if class_names is None:
        raise TargetError(f"target: class name {name!r} given but the model has no class names; pass an index")
    lowered = [c.lower() for c in class_names]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    if name.isdigit():
        return int(name)
    raise TargetError(f"target: unknown class name {name!r}{did_you_mean(name.lower(), lowered)}")
