"""Find the layer to explain: by name (with did-you-mean), or automatically.

The automatic choice follows the CAM/Grad-CAM papers' advice: the last layer whose output still has
spatial (or temporal) extent, because it holds the best compromise between high-level semantics and
spatial detail (Selvaraju et al. 2017, Sec. 3).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._state import eval_mode
from ._typing import LayerSpec, LayersSpec
from .errors import InputError, LayerNotFound, did_you_mean

__all__ = ["auto_layer", "layer_name", "resolve_layer", "resolve_layers", "token_grid_reshape"]

# (model) -> {(input shape without batch): chosen layer name}
_AUTO_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], str]] = weakref.WeakKeyDictionary()


def resolve_layer(model: nn.Module, layer: LayerSpec) -> tuple[str, nn.Module]:
    """Return ``(name, module)`` for a layer given by dotted name or as a module of ``model``."""
    if isinstance(layer, str) and layer:
        try:  # O(depth), no walk over every module: this runs on every explain call
            return layer, model.get_submodule(layer)
        except (AttributeError, RuntimeError):  # unknown name (did-you-mean below), or a ScriptModule
            pass
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, module in modules.items():
            if module is layer:
                return name, module
        raise LayerNotFound("layer: the module given is not part of the model; pass one of model.named_modules()")
    if not isinstance(layer, str):
        raise TypeError(f"layer: expected a layer name or an nn.Module, got {type(layer).__name__}")
    if layer in modules and layer != "":
        return layer, modules[layer]
    names = [n for n in modules if n]
    raise LayerNotFound(f"unknown layer {layer!r}{did_you_mean(layer, names)}; see model.named_modules()")


def layer_name(model: nn.Module, module: nn.Module) -> str:
    """The dotted name of ``module`` inside ``model``."""
    return resolve_layer(model, module)[0]


def auto_layer(model: nn.Module, inputs: Tensor) -> str:
    """Name of the last layer (in execution order) whose output has spatial extent.

    Runs one no-grad forward of the first sample with hooks on every module; the answer is cached
    per model and input shape, so repeated calls cost nothing.
    """
    key = tuple(inputs.shape[1:])
    cached = _AUTO_CACHE.get(model, {}).get(key)
    if cached is not None:
        return cached
    from .cam._capture import call_model, check_hookable  # local: cam imports this module

    check_hookable(model)
    spatial_ndim = inputs.ndim
    finished: list[str] = []
    handles = []

    def make_hook(name: str):  # type: ignore[no-untyped-def]
        def hook(_m: nn.Module, _i: object, out: object) -> None:
            if isinstance(out, Tensor) and out.ndim == spatial_ndim and math.prod(out.shape[2:]) > 1:
                finished.append(name)

        return hook

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(make_hook(name)))
    try:
        with eval_mode(model), torch.no_grad():
            call_model(model, inputs[:1])
    finally:
        for h in handles:
            h.remove()
    if not finished:
        raise InputError(
            "layer: no layer of this model outputs a (N, C, *spatial) map for inputs of shape "
            f"{tuple(inputs.shape)}; name one with layer=... (token models need reshape=token_grid_reshape)"
        )
    _AUTO_CACHE.setdefault(model, {})[key] = finished[-1]
    return finished[-1]


def resolve_layers(model: nn.Module, layers: LayersSpec, inputs: Tensor) -> list[tuple[str, nn.Module]]:
    """Resolve one, several or automatically chosen layers to ``[(name, module), ...]``."""
    if layers is None:
        return [resolve_layer(model, auto_layer(model, inputs))]
    if isinstance(layers, (str, nn.Module)):
        return [resolve_layer(model, layers)]
    if isinstance(layers, Sequence) and len(layers) > 0:
        return [resolve_layer(model, layer) for layer in layers]
    raise TypeError("layer: expected a name, a module, a non-empty list of them, or None")


def token_grid_reshape(tokens: Tensor, has_class_token: bool = True) -> Tensor:
    """(N, 1 + H*W, C) ViT tokens -> (N, C, H, W) grid; the class token is dropped."""
    if tokens.ndim != 3:
        raise InputError(f"reshape: expected (N, tokens, C) tokens, got shape {tuple(tokens.shape)}")
    grid = tokens[:, 1:] if has_class_token else tokens
    side = math.isqrt(grid.shape[1])
    if side * side != grid.shape[1]:
        raise InputError(f"reshape: {grid.shape[1]} patch tokens do not form a square grid")
    return grid.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], side, side)
