"""Capture one layer's output (or the input of the classifier head) with a hook removed in ``finally``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from .._state import eval_mode
from .._typing import LayerSpec
from ..cam._capture import split_call
from ..errors import InputError
from ..layers import resolve_layer

__all__ = ["PENULTIMATE", "capture", "head_layer"]

#: The layer name that means "the input of the last linear layer" (the penultimate feature vector).
PENULTIMATE = "penultimate"


def head_layer(model: nn.Module) -> tuple[str, nn.Module]:
    """The last ``nn.Linear`` of ``model`` (its input is the penultimate feature vector)."""
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise InputError(
            "layer: 'penultimate' needs a model with a final nn.Linear head; name a layer instead (layer=...)"
        )
    return linears[-1]


@contextmanager
def capture(model: nn.Module, layer: LayerSpec) -> Iterator[dict[str, Tensor]]:
    """Record the output of ``layer`` (or the head's input for ``"penultimate"``) under key ``"out"``.

    A module that runs several times per forward is recorded at its last call, or at the call named
    with an ``@index`` suffix (``"layer4.1.relu@0"``), as in the CAM engine.

    The dict yielded is filled on every forward while the context is open; the hook is removed on
    exit, also after an exception.
    """
    store: dict[str, Tensor] = {}
    if isinstance(layer, str) and layer == PENULTIMATE:
        _, module = head_layer(model)

        def pre_hook(_m: nn.Module, args: tuple[object, ...]) -> None:
            x = args[0]
            if isinstance(x, Tensor):
                store["out"] = x.detach()

        handles = [module.register_forward_pre_hook(pre_hook)]
    else:
        spec, call = split_call(layer)
        if call is not None and call < -1:
            raise InputError(f"layer: {layer!r}: only a call index >= 0, or -1 for the last call, is supported here")
        _, module = resolve_layer(model, spec)
        seen = [0]

        def reset(_m: nn.Module, _args: object) -> None:
            seen[0] = 0  # calls are counted per forward pass of the whole model

        def hook(_m: nn.Module, _i: object, out: object) -> None:
            index = seen[0]
            seen[0] += 1
            if call is not None and call >= 0 and index != call:
                return
            if isinstance(out, (tuple, list)):
                out = out[0]
            if isinstance(out, Tensor):
                store["out"] = out.detach().clone()  # a copy: in-place ops after the layer must not reach it

        handles = [model.register_forward_pre_hook(reset), module.register_forward_hook(hook)]
    try:
        yield store
    finally:
        for handle in handles:
            handle.remove()


def run_and_capture(model: nn.Module, layer: LayerSpec, inputs: Tensor) -> Tensor:
    """One no-grad eval forward of ``inputs``; the captured tensor (raises if the layer never ran)."""
    with eval_mode(model), capture(model, layer) as store, torch.no_grad():
        model(inputs)
    if "out" not in store:
        raise InputError(
            f"layer: {layer!r} was not seen in the forward pass (a TorchScript model does not call "
            "Python hooks; "
            "load it as an nn.Module)"
        )
    return store["out"]


__all__ += ["run_and_capture"]
