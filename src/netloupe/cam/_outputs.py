"""Pick the tensor to explain from whatever a model returns.

Models return a tensor, a tuple (``(logits, aux)``), a dict, or a Hugging Face ``ModelOutput`` (an
``OrderedDict`` subclass with attribute access). One function picks the scores for the shared pass and
for every extra forward pass of the perturbation methods, so that both always read the same output.

>>> import torch
>>> select_output({"logits": torch.ones(1, 3), "hidden": torch.zeros(1, 4)}).shape
torch.Size([1, 3])
>>> select_output((torch.zeros(2, 5), torch.ones(2)), 1).shape
torch.Size([2])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from ..errors import InputError, TargetError

__all__ = ["OutputKey", "TargetReader", "is_structured", "select_output"]

#: Which output to explain: None (the tensor, the first tuple element, or ``logits``), a key, an index,
#: or a callable taking what the model returned and giving the ``(N, n_out)`` tensor.
OutputKey = str | int | Callable[[Any], Tensor] | None

_DEFAULT_KEY = "logits"


def _describe(out: object) -> str:
    if isinstance(out, Mapping):
        return f"a {type(out).__name__} with keys {', '.join(repr(k) for k in out)}"
    if isinstance(out, Sequence):
        return f"a {type(out).__name__} of {len(out)} elements"
    return f"a {type(out).__name__}"


def _checked(value: object, out: object, what: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise InputError(
            f"output: {what} of the model's output ({_describe(out)}) is a {type(value).__name__}, expected a tensor"
        )
    return value


def select_output(out: object, key: OutputKey = None) -> Tensor:
    """The ``(N, n_out)`` tensor to explain among a model's outputs.

    Args:
        out: what the model returned: a tensor, a tuple/list, a mapping (dict, ``OrderedDict``, Hugging
            Face ``ModelOutput``) or an object with a ``logits`` attribute.
        key: None picks the tensor itself, the first element of a tuple, or ``"logits"`` of a mapping;
            a string picks that key (or attribute); an integer picks that element (of a mapping's values
            in order, as ``ModelOutput.to_tuple()`` does); a callable is applied to the output.

    Raises:
        InputError: the key or index is not there (the message lists what is), or it is not a tensor.
    """
    if key is None:
        if isinstance(out, Tensor):
            return out
        if isinstance(out, Mapping):
            if _DEFAULT_KEY in out:
                return _checked(out[_DEFAULT_KEY], out, f"key {_DEFAULT_KEY!r}")
            raise InputError(
                f"output: the model returned {_describe(out)} and no {_DEFAULT_KEY!r}; "
                "choose the one to explain with output=KEY (CLI: --output KEY)"
            )
        if isinstance(out, (tuple, list)):
            if not out:
                raise InputError("output: the model returned an empty sequence")
            return _checked(out[0], out, "element 0")
        logits = getattr(out, _DEFAULT_KEY, None)
        if isinstance(logits, Tensor):
            return logits
        raise InputError(
            f"output: the model returned {_describe(out)}; expected a tensor, a tuple, a dict or a ModelOutput"
        )
    if callable(key):
        return _checked(key(out), out, "the output= callable's result")
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise InputError(f"output: expected a key (str), an index (int) or None, got {key!r}")
    if isinstance(key, str):
        if isinstance(out, Mapping):
            if key not in out:
                raise InputError(f"output: no key {key!r}; the model returned {_describe(out)}")
            return _checked(out[key], out, f"key {key!r}")
        if not isinstance(out, (Tensor, tuple, list)) and hasattr(out, key):
            return _checked(getattr(out, key), out, f"attribute {key!r}")
        raise InputError(f"output: key {key!r} given but the model returned {_describe(out)}")
    values = list(out.values()) if isinstance(out, Mapping) else out
    if isinstance(values, (tuple, list)):
        if not -len(values) <= key < len(values):
            raise InputError(f"output: index {key} is out of range; the model returned {_describe(out)}")
        return _checked(values[key], out, f"element {key}")
    raise InputError(f"output: index {key} given but the model returned {_describe(out)}")


def is_structured(out: object) -> bool:
    """Whether ``out`` holds no tensor to explain by default (e.g. a detector's list of dicts)."""
    try:
        select_output(out)
    except InputError:
        return True
    return False


class TargetReader:
    """Callable targets on a model whose raw output holds no default tensor (detectors, custom structures).

    torchvision detectors return one dict per image; targets such as
    :class:`~netloupe.targets.BoxScoreTarget` read that list. When every target is a callable and no
    ``output=`` is given, the engine reads the model's output with this object: a structured output
    becomes the ``(N, K)`` matrix of the K targets' scores (target ``k`` is then its column ``k``), any
    other output is selected as usual and handed to the callables unchanged. Every forward pass of the
    engine (the shared pass and the extra passes of perturbation methods) reads the output the same way.
    """

    def __init__(self, functions: Sequence[Callable[[Any], Tensor]]) -> None:
        self.functions = tuple(functions)
        self.structured: bool | None = None

    def __call__(self, out: object) -> Tensor:
        structured = is_structured(out)
        if self.structured is not None and structured != self.structured:
            raise InputError("output: the model returned differently structured outputs in two passes")
        self.structured = structured
        if not structured:
            return select_output(out)
        scores = []
        for fn in self.functions:
            value = fn(out)
            if not isinstance(value, Tensor):
                raise TargetError(f"target: {fn!r} returned a {type(value).__name__}, expected a tensor of scores")
            scores.append(value.reshape(-1))
        return torch.stack(scores, dim=1)

    def targets(self) -> tuple[Callable[[Tensor], Tensor], ...]:
        """The targets to apply to what this reader returned."""
        return tuple(_ReadTarget(self, k) for k in range(len(self.functions)))


class _ReadTarget:
    """Target ``k`` of a :class:`TargetReader`: column ``k`` of a structured output, else the callable."""

    def __init__(self, reader: TargetReader, k: int) -> None:
        self.reader = reader
        self.k = k

    def __call__(self, outputs: Tensor) -> Tensor:
        if self.reader.structured:
            return outputs[:, self.k]
        return self.reader.functions[self.k](outputs)

    def __repr__(self) -> str:
        return repr(self.reader.functions[self.k])
