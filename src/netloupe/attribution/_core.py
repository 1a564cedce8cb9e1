"""Shared machinery of the input-attribution methods: targets, masks, the result object, cuDNN.

Every method takes a ``forward`` (an ``nn.Module`` or any callable ``inputs -> outputs``), the
``inputs`` to explain and the same target specifications as the CAM engine (``None`` = predicted class,
an index, a class name, ``TopK(k)``, a list of indices or callables ``outputs -> (N,)``). Outputs
that are not a plain ``(N, C)`` tensor (a tagger's ``(N, T, C)`` slots, a joint model's named tuple)
need callable targets, e.g. :class:`netloupe.sequence.targets.SlotTarget`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..errors import InputError, TargetError
from ..targets import TargetSet, TargetSpec, resolve_targets

__all__ = [
    "Attribution",
    "ForwardFn",
    "call_forward",
    "check_inputs",
    "expand_mask",
    "model_device",
    "prepare_targets",
    "rnn_backward_safe",
    "score_inputs",
    "target_scores",
]

ForwardFn = Callable[[Tensor], Any]


@dataclass
class Attribution:
    """Input-level attributions for K targets per sample.

    Attributes:
        values: ``(N, K, *inputs.shape[1:])`` signed attributions (raw, not normalised).
        scores: ``(N, K)`` target scores on the unperturbed inputs.
        class_ids: ``(N, K)`` class indices, or None when the targets were callables.
        method: registry-style name of the method ("gradient_x_input", "integrated_gradients", ...).
        extras: method-specific tensors (e.g. IG's completeness ``delta``, ``baseline_scores``).
    """

    values: Tensor
    scores: Tensor
    class_ids: Tensor | None
    method: str
    extras: dict[str, Tensor] = field(default_factory=dict)

    def per_step(self, time_dim: int = 1) -> Tensor:
        """Sum the attribution over every input dimension except time: ``(N, K, T)``.

        Args:
            time_dim: the time axis *of the inputs* (1 for ``(N, T, D)`` token/feature sequences,
                -1 or 2 for ``(N, C, L)`` signals).
        """
        ndim = self.values.ndim - 1  # dims of the inputs
        t = time_dim % ndim
        v = self.values.movedim(t + 1, 2)  # (N, K, T, ...)
        return v.reshape(*v.shape[:3], -1).sum(-1)


@contextlib.contextmanager
def rnn_backward_safe(device: torch.device) -> Iterator[None]:
    """Let recurrent models be differentiated in eval mode on GPU.

    cuDNN's fused RNN kernels only support a backward pass in training mode ("cudnn RNN backward can
    only be called in training mode"). Switching the model to train mode would change dropout, so
    instead the forward *and* backward run with cuDNN disabled (torch's native RNN kernels), which
    give the same values. No effect on CPU.
    """
    if device.type == "cuda":
        with torch.backends.cudnn.flags(enabled=False):
            yield
    else:
        yield


def expand_mask(mask: Tensor | None, inputs: Tensor) -> Tensor | None:
    """A boolean mask broadcastable to ``inputs``: given ``(N, T)`` for ``(N, T, D)`` inputs, or any
    leading-dimension prefix of the input shape; trailing singleton dimensions are appended."""
    if mask is None:
        return None
    if mask.ndim > inputs.ndim or tuple(mask.shape) != tuple(inputs.shape[: mask.ndim]):
        if mask.ndim == inputs.ndim and all(m in (1, s) for m, s in zip(mask.shape, inputs.shape, strict=True)):
            return mask.to(device=inputs.device, dtype=torch.bool)
        raise InputError(
            f"mask: expected a leading-dimension prefix of the input shape {tuple(inputs.shape)} "
            f"(e.g. (N, T) for (N, T, D) inputs) or a broadcastable shape, got {tuple(mask.shape)}"
        )
    return mask.to(device=inputs.device, dtype=torch.bool).reshape(*mask.shape, *([1] * (inputs.ndim - mask.ndim)))


def _is_plain(outputs: Any) -> bool:
    return isinstance(outputs, Tensor) and outputs.ndim == 2


def prepare_targets(outputs: Any, targets: TargetSpec, class_names: Sequence[str] | None = None) -> TargetSet:
    """Resolve ``targets`` against the model's ``outputs`` (class indices need ``(N, C)`` logits)."""
    if _is_plain(outputs):
        return resolve_targets(targets, outputs, class_names)
    callables = callable(targets) or (
        isinstance(targets, Sequence) and len(targets) > 0 and all(callable(t) for t in targets)
    )
    if not callables:
        shape = tuple(outputs.shape) if isinstance(outputs, Tensor) else type(outputs).__name__
        raise TargetError(
            f"targets: the model's outputs are {shape}, not (N, classes) logits; pass callable targets "
            f"such as SlotTarget(position, tag) or IntentTarget(index), got {targets!r}"
        )
    n = _batch_size(outputs)
    return resolve_targets(targets, torch.zeros(n, 1), class_names)


def _batch_size(outputs: Any) -> int:
    if isinstance(outputs, Tensor):
        return outputs.shape[0]
    if isinstance(outputs, (tuple, list)) and outputs and isinstance(outputs[0], Tensor):
        return outputs[0].shape[0]
    raise TargetError(f"outputs: cannot find the batch size of a {type(outputs).__name__}")


def target_scores(target_set: TargetSet, outputs: Any, sample: Tensor | None = None) -> Tensor:
    """``(rows, K)`` scores; ``sample`` maps the rows of expanded batches to the original samples."""
    if target_set.class_ids is None:  # callables: row-wise by contract, outputs may be tuples
        n = _batch_size(outputs)
        return torch.stack([fn(outputs).reshape(n) for fn in target_set.functions], dim=1)
    if sample is None:
        return target_set.scores(outputs)
    return torch.stack(
        [target_set.expanded_scores(outputs, sample, k, softmax=False) for k in range(target_set.k)], dim=1
    )


def score_inputs(
    forward: ForwardFn,
    inputs: Tensor,
    targets: TargetSpec,
    class_names: Sequence[str] | None,
    additional_args: tuple[Any, ...],
) -> tuple[TargetSet, Tensor]:
    """One forward pass on the unperturbed ``inputs``: the targets fixed on its outputs and their
    ``(N, K)`` scores (gradients flow when the caller enables them)."""
    outputs = call_forward(forward, inputs, additional_args)
    target_set = prepare_targets(outputs, targets, class_names)
    return target_set, target_scores(target_set, outputs)


def call_forward(forward: ForwardFn, inputs: Tensor, args: tuple[Any, ...], sample: Tensor | None = None) -> Any:
    """``forward(inputs, *args)``; tensors are per-sample and follow ``sample`` in expanded batches."""
    if sample is not None:
        args = tuple(a[sample.to(a.device)] if isinstance(a, Tensor) and a.ndim > 0 else a for a in args)
    return forward(inputs, *args)


def model_device(forward: ForwardFn, inputs: Tensor) -> torch.device:
    """The device of the model's parameters, else of the inputs."""
    if isinstance(forward, torch.nn.Module):
        for p in forward.parameters():
            return p.device
    return inputs.device


def check_inputs(inputs: Tensor) -> None:
    if not isinstance(inputs, Tensor) or not inputs.is_floating_point():
        got = inputs.dtype if isinstance(inputs, Tensor) else type(inputs).__name__
        raise InputError(f"inputs: expected a floating-point tensor (embed token ids first), got {got}")
    if inputs.ndim < 2 or inputs.shape[0] == 0:
        raise InputError(f"inputs: expected a non-empty batch (N, ...), got shape {tuple(inputs.shape)}")
