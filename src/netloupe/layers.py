"""Find the layer to explain: by name (with did-you-mean), or automatically.

The automatic choice follows the CAM/Grad-CAM papers' advice: the last layer whose output still has
spatial (or temporal) extent, because it holds the best compromise between high-level semantics and
spatial detail (Selvaraju et al. 2017, Sec. 3).
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from ._state import eval_mode
from ._typing import LayerSpec, LayersSpec, ReshapeFn
from .errors import InputError, LayerNotFound, did_you_mean
from .layout import (
    LAYOUTS,
    LayerInfo,
    acts_on_last_dim,
    attention_cores,
    attention_internal,
    check_layout_name,
    infer_layout,
    prefix_tokens,
)

__all__ = [
    "LAYOUTS",
    "LayerInfo",
    "LayerPlan",
    "LayoutReshape",
    "ReshapeSpec",
    "auto_layer",
    "choose_layer",
    "describe_layer",
    "layer_name",
    "plan_layers",
    "plan_reshape",
    "resolve_layer",
    "resolve_layers",
    "token_grid_reshape",
]

#: a layout name (``"auto"``, ``"tokens"``, ``"channels-last"``, ``"channels-first"``) or a callable
ReshapeSpec = str | ReshapeFn | None

# (model) -> {(kind, *input shape without batch): [LayerInfo, ...]}
_AUTO_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[tuple[object, ...], list[LayerInfo]]] = (
    weakref.WeakKeyDictionary()
)


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
    """Name of the layer explained when none is given (see :func:`choose_layer`)."""
    return choose_layer(model, inputs).name


def choose_layer(model: nn.Module, inputs: Tensor) -> LayerInfo:
    """The layer to explain when none is given, with the layout its output is read in.

    CNN-like models (the last spatial output is channels-first): the last layer whose output still
    has spatial extent, the best compromise between semantics and spatial detail (Selvaraju et al.
    2017, Sec. 3). Transformers (the last spatial output is tokens or a channels-last grid): the last
    attention block's norm before attention (``blocks[-1].norm1`` in timm), as the peers' docs
    recommend: after the last block only the class token reaches the head, so the patch tokens of
    the final norm carry no gradient. Attention internals (q/k/v, their norms, attention
    probabilities) are never chosen. One no-grad forward of the first sample, cached per model and
    input shape.
    """
    key = ("auto", *inputs.shape[1:])
    cached = _AUTO_CACHE.get(model, {}).get(key)
    if cached is not None:
        return cached[0]
    records = _probe(model, inputs, None)
    size = tuple(int(s) for s in inputs.shape[2:])
    prefix = prefix_tokens(model)
    cores = attention_cores(model)
    infos: list[tuple[_Record, LayerInfo]] = []
    by_tensor: dict[int, LayerInfo] = {}
    for rec in records:
        if not rec.plain or isinstance(rec.module, nn.Identity) or attention_internal(rec.name, rec.module, cores):
            continue
        inherited = by_tensor.get(rec.tensor_id)
        want = inherited.layout if inherited is not None and inherited.shape == rec.shape else "auto"
        info = infer_layout(rec.shape, rec.module, size, prefix[0] if prefix else None, rec.name, want)
        if info is not None:
            infos.append((rec, info))
            by_tensor[rec.tensor_id] = info
    if not infos:
        raise InputError(
            "layer: no layer of this model outputs a feature map (channels-first, channels-last or tokens) "
            f"for inputs of shape {tuple(inputs.shape)}; name one with layer=... and pass reshape=..."
        )
    last = infos[-1][1]
    chosen = replace(last, reason=f"{last.reason}; the last layer with spatial output")
    if last.layout != "channels-first":
        pre = _pre_attention_norm(records, cores, {r.name: i for r, i in infos})
        if pre is not None:
            chosen = replace(pre, reason=f"{pre.reason}; the last attention block's norm before attention")
    if chosen.layout == "tokens" and prefix is not None:
        chosen = replace(chosen, reason=f"{chosen.reason} (prefix count from {prefix[1]})")
    _AUTO_CACHE.setdefault(model, {})[key] = [chosen]
    return chosen


def _pre_attention_norm(records: list[_Record], cores: set[str], valid: dict[str, LayerInfo]) -> LayerInfo | None:
    """The norm that feeds the last attention core that ran, inside the same block."""
    ran = [r for r in records if r.name in cores]
    if not ran:
        return None
    core = max(ran, key=lambda r: r.start)
    parts = core.name.split(".")
    for depth in range(len(parts) - 1, -1, -1):  # nearest enclosing block holding a norm
        block = ".".join(parts[:depth])
        prefix = block + "." if block else ""
        norms = [
            r
            for r in records
            if r.name.startswith(prefix)
            and not r.name.startswith(core.name)
            and "norm" in type(r.module).__name__.lower()
            and r.end < core.start
            and r.name in valid
        ]
        if norms:
            return valid[max(norms, key=lambda r: r.end).name]
    return None


@dataclass
class _Record:
    name: str
    module: nn.Module
    shape: tuple[int, ...]
    start: int
    end: int
    tensor_id: int
    plain: bool = True  # the output was a tensor (not a tuple starting with one, e.g. an LSTM's)


def _first_tensor(out: object) -> Tensor | None:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    return None


def _probe(model: nn.Module, inputs: Tensor, names: Sequence[str] | None) -> list[_Record]:
    """Shapes of the outputs of ``names`` (None: every module) in one no-grad forward of one sample."""
    from .cam._capture import call_model, check_hookable  # local: cam imports this module

    check_hookable(model)
    counter = [0]
    starts: dict[str, int] = {}
    records: list[_Record] = []
    handles = []

    def make_hooks(name: str, module: nn.Module) -> None:
        def pre(_m: nn.Module, _i: object) -> None:
            counter[0] += 1
            starts.setdefault(name, counter[0])

        def post(_m: nn.Module, _i: object, out: object) -> None:
            counter[0] += 1
            tensor = _first_tensor(out)
            if tensor is not None:
                start = starts.get(name, counter[0])
                plain = isinstance(out, Tensor)
                records.append(_Record(name, module, tuple(tensor.shape), start, counter[0], id(tensor), plain))

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))

    wanted = set(names) if names is not None else None
    for name, module in model.named_modules():
        if name and (wanted is None or name in wanted):
            make_hooks(name, module)
    try:
        with eval_mode(model), torch.no_grad():
            call_model(model, inputs[:1])
    finally:
        for h in handles:
            h.remove()
    return records


def resolve_layers(model: nn.Module, layers: LayersSpec, inputs: Tensor) -> list[tuple[str, nn.Module]]:
    """Resolve one, several or automatically chosen layers to ``[(name, module), ...]``."""
    if layers is None:
        return [resolve_layer(model, auto_layer(model, inputs))]
    if isinstance(layers, (str, nn.Module)):
        return [resolve_layer(model, layers)]
    if isinstance(layers, Sequence) and len(layers) > 0:
        return [resolve_layer(model, layer) for layer in layers]
    raise TypeError("layer: expected a name, a module, a non-empty list of them, or None")


def token_grid_reshape(tokens: Tensor, has_class_token: bool = True, prefix_tokens: int | None = None) -> Tensor:
    """(N, P + H*W, C) ViT tokens -> (N, C, H, W) square grid; the P prefix tokens are dropped.

    ``prefix_tokens`` (class + distillation + register tokens) overrides ``has_class_token`` (P = 1 or
    0). For non-square grids and counts read from the model, pass ``reshape="tokens"`` to the explainer.
    """
    if tokens.ndim != 3:
        raise InputError(f"reshape: expected (N, tokens, C) tokens, got shape {tuple(tokens.shape)}")
    skip = prefix_tokens if prefix_tokens is not None else int(has_class_token)
    grid = tokens[:, skip:]
    side = math.isqrt(grid.shape[1])
    if side * side != grid.shape[1]:
        raise InputError(f"reshape: {grid.shape[1]} patch tokens do not form a square grid")
    return grid.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], side, side)


class LayoutReshape:
    """Reads every explained layer's output in its layout, told apart by the output's shape (batch aside).

    Built from known layouts (the automatic choice) or lazily: the first output of each shape is read
    by :func:`netloupe.layout.infer_layout` (no extra forward pass for layers given by name).
    """

    def __init__(
        self,
        infos: Sequence[LayerInfo] = (),
        *,
        mode: str = "auto",
        input_size: tuple[int, ...] = (),
        prefix: tuple[int, str] | None = None,
        hint: nn.Module | None = None,
    ) -> None:
        self.mode = mode
        self.input_size = input_size
        self.prefix = prefix
        self.hint = hint
        self._by_shape: dict[tuple[int, ...], LayerInfo] = {}
        for info in infos:
            self._by_shape[info.shape[1:]] = info

    def info_for(self, shape: Sequence[int], name: str = "") -> LayerInfo:
        """The layout of an output of ``shape`` (cached per shape, batch aside)."""
        key = tuple(int(s) for s in shape[1:])
        info = self._by_shape.get(key)
        if info is None:
            info = self._infer(tuple(int(s) for s in shape), name)
            self._by_shape[key] = info
        return replace(info, name=name) if name and info.name != name else info

    def _infer(self, shape: tuple[int, ...], name: str) -> LayerInfo:
        size = self.input_size
        count = self.prefix[0] if self.prefix else None
        info = infer_layout(shape, self.hint, size, count, name, self.mode)
        if info is None and self.mode == "auto" and len(shape) == len(size) + 2:
            warnings.warn(
                f"layer {name or ''}: its output {shape} does not look like a feature map of inputs of spatial "
                f"size {size}; it is read as (N, C, *S). Pass reshape=... if that is wrong",
                stacklevel=4,
            )
            return LayerInfo(name, "channels-first", shape, shape[2:], 0, "read as channels-first (not a grid)")
        if info is None:
            wanted = "" if self.mode == "auto" else f"{self.mode} "
            raise InputError(
                f"layer: {name + ' ' if name else ''}outputs shape {shape}, which is not a {wanted}feature map "
                f"(channels-first, channels-last or tokens) for inputs of spatial size {size}; "
                "pass reshape= a callable returning (N, C, *spatial)"
            )
        if info.layout == "tokens" and self.prefix is not None:
            info = replace(info, reason=f"{info.reason} (prefix count from {self.prefix[1]})")
        return info

    def __call__(self, t: Tensor) -> Tensor:
        return self.info_for(t.shape).to_grid(t)


@dataclass
class LayerPlan:
    """The layers to explain, their layouts, and the one reshape the shared pass applies."""

    layers: list[tuple[str, nn.Module]]
    reshape: ReshapeFn | None
    fixed: list[LayerInfo] | None = None

    def layer_info(self, captured: Sequence[object]) -> list[LayerInfo]:
        """Each captured layer's :class:`LayerInfo` (``captured``: objects with ``name`` and ``raw_shape``)."""
        if self.fixed is not None:
            return list(self.fixed)
        out = []
        for cap in captured:
            name, shape = str(getattr(cap, "name", "")), tuple(getattr(cap, "raw_shape", ()))
            if isinstance(self.reshape, LayoutReshape):
                out.append(self.reshape.info_for(shape, name))
            else:
                out.append(LayerInfo(name, "custom" if self.reshape else "channels-first", shape, shape[2:]))
        return out


def describe_layer(
    model: nn.Module, inputs: Tensor, layer: LayersSpec = None, reshape: ReshapeSpec = "auto"
) -> LayerInfo:
    """Which layer would be explained for ``inputs``, and in which layout (first layer if several).

    Runs one no-grad forward of the first sample when a layer is named (the automatic choice runs it anyway).
    """
    plan = plan_layers(model, layer, inputs, reshape)
    if plan.fixed is not None:
        return plan.fixed[0]
    name, module = plan.layers[0]
    records = [r for r in _probe(model, inputs, [name]) if r.name == name]
    if not records:
        raise InputError(f"layer: {name} did not run in the forward pass; pick a layer on the path")
    shape = records[-1].shape
    if isinstance(plan.reshape, LayoutReshape):
        info = plan.reshape.info_for(shape, name)
    else:
        info = LayerInfo(name, "custom" if plan.reshape else "channels-first", shape, shape[2:])
    if attention_internal(name, module, attention_cores(model)):
        info = replace(info, reason=f"{info.reason}; an attention internal, not a feature map")
    return info


def plan_layers(model: nn.Module, layers: LayersSpec, inputs: Tensor, reshape: ReshapeSpec = "auto") -> LayerPlan:
    """Resolve the layers and how each one's output is read (see :mod:`netloupe.layout`).

    Args:
        model: the network.
        layers: a name, a module, a list of them, or None (automatic, :func:`choose_layer`).
        inputs: the batch (its spatial size anchors the layout).
        reshape: ``"auto"``/None (read from the output's shape), ``"channels-first"`` (as is),
            ``"channels-last"``, ``"tokens"`` (prefix count read from the model), or a callable
            ``(N, ...) -> (N, C, *S)`` applied to every layer.
    """
    resolved = resolve_layers(model, layers, inputs)  # None: choose_layer, whose answer is cached
    return plan_reshape(model, resolved, inputs, reshape, automatic=layers is None)


def plan_reshape(
    model: nn.Module,
    layers: Sequence[tuple[str, nn.Module]],
    inputs: Tensor,
    reshape: ReshapeSpec = "auto",
    automatic: bool = False,
) -> LayerPlan:
    """How to read already resolved layers (see :func:`plan_layers`); ``automatic``: chosen by :func:`choose_layer`."""
    if reshape is not None and not isinstance(reshape, str) and not callable(reshape):
        raise InputError(f"reshape: expected one of {', '.join(LAYOUTS)} or a callable, got {type(reshape).__name__}")
    mode = "auto" if reshape is None else check_layout_name(reshape) if isinstance(reshape, str) else "custom"
    resolved = list(layers)
    if automatic and mode == "auto" and len(resolved) == 1:
        info = replace(choose_layer(model, inputs), name=resolved[0][0])  # cached: no second probe
        return LayerPlan(resolved, None if info.layout == "channels-first" else LayoutReshape([info]), [info])
    if mode == "custom":
        return LayerPlan(resolved, reshape)  # type: ignore[arg-type]
    if mode == "channels-first":
        return LayerPlan(resolved, None)
    modules = [module for _, module in resolved]
    hints = {acts_on_last_dim(m) for m in modules}
    size = tuple(int(s) for s in inputs.shape[2:])
    lazy = LayoutReshape(
        mode=mode, input_size=size, prefix=prefix_tokens(model), hint=modules[0] if len(hints) == 1 else None
    )
    return LayerPlan(resolved, lazy)
