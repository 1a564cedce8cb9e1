"""The CAM engine: one shared pass, many methods, many targets, one or several layers.

>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
>>> result = Explainer(model).explain(torch.rand(4, 1, 5, 5), methods=["gradcam", "cam"], targets=TopK(2))
>>> result.maps["cam"].shape, result.class_ids.shape
(torch.Size([4, 2, 5, 5]), torch.Size([4, 2]))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from .._state import eval_mode
from .._typing import LayersSpec, ReshapeFn
from ..errors import InputError
from ..layers import LayerInfo, ReshapeSpec, plan_reshape
from ..targets import TargetSet, TargetSpec, TopK, probabilities, resolve_targets
from ._capture import Capture, LayerCapture, LayerRef, resolve_layer_refs, run_capture, unwrap_compiled
from ._outputs import OutputKey, TargetReader, select_output
from ._passes import CancelFlag, OnPass, Passes
from .attention_choice import (
    default_methods,
    warn_gradient_cam_on_class_token,
    warn_gradient_cam_on_windowed_attention,
)
from .base import CAMContext, CAMMethod
from .perturbation import upsample
from .registry import get_method

__all__ = ["Explainer", "Explanation", "TopK", "explain", "maps_at_size", "normalize_maps", "perturbation_batch_size"]

MethodsSpec = str | CAMMethod | Sequence[str | CAMMethod]


@dataclass
class Explanation:
    """Maps for every method, plus what the model predicted.

    Attributes:
        maps: method name -> ``(N, K, *spatial)`` maps (input resolution unless ``upsample=False``).
        class_ids: ``(N, K)`` explained classes, or None for callable targets.
        scores: ``(N, K)`` target scores.
        logits: ``(N, n_out)`` raw outputs.
        probabilities: ``(N, n_classes)`` softmax (or sigmoid pair for single-logit models).
        layers: the target layers' names.
        class_names: names of the output classes when known.
        layer_info: each layer's layout (channels-first, channels-last, tokens), grid and why it was chosen.
        method_reason: why the methods were chosen when none was named ("" when they were named).
    """

    maps: dict[str, Tensor]
    class_ids: Tensor | None
    scores: Tensor
    logits: Tensor
    probabilities: Tensor
    layers: list[str]
    class_names: list[str] | None = None
    layer_info: list[LayerInfo] = field(default_factory=list)
    method_reason: str = ""

    def labels(self) -> list[list[str]]:
        """Human-readable name of every explained target, ``[sample][k]``."""
        if self.class_ids is None:
            return [[f"target {k}" for k in range(self.scores.shape[1])] for _ in range(self.scores.shape[0])]
        names = self.class_names
        return [[names[i] if names and i < len(names) else str(i) for i in row] for row in self.class_ids.tolist()]

    def target_probabilities(self) -> Tensor:
        """``(N, K)`` probability of each explained class (NaN for callable targets)."""
        if self.class_ids is None:
            return torch.full_like(self.scores, float("nan"))
        return self.probabilities.gather(1, self.class_ids)


def normalize_maps(maps: Tensor) -> Tensor:
    """Min-max normalise each ``(n, k)`` map to [0, 1]; constant maps become 0."""
    flat = maps.flatten(2)
    lo = flat.amin(-1, keepdim=True)  # amin and amax apart: torch.aminmax is 4-20x slower on the CPU
    span = flat.amax(-1, keepdim=True) - lo
    # 1/span where the map varies, 0 where it is constant (flat - lo is 0 there too): no division per pixel.
    scale = torch.where(span > 0, span.reciprocal(), torch.zeros_like(span))
    return ((flat - lo) * scale).reshape(maps.shape)


def perturbation_batch_size(device: torch.device) -> int:
    """Inputs per extra pass of a perturbation method when the caller sets none.

    On a GPU, 64 fills the device. On the CPU, small batches are faster: a batch's activations stay in
    the caches (Score-CAM of EfficientNet-Lite0 on a 2-core VM: 5.6-6.4 s at 4 inputs per pass, 14 s at
    128, equal maps), and oneDNN gets its parallelism from the threads, so two inputs per thread.
    """
    if device.type == "cpu":
        return max(2, 2 * torch.get_num_threads())
    return 64


def maps_at_size(maps: Tensor, size: tuple[int, ...]) -> Tensor:
    """Resize ``(N, K, *S)`` maps straight to ``size`` and min-max normalise them there.

    For maps computed with ``upsample=False, normalize=False``: one interpolation from the layer's
    resolution to the final one (e.g. an image's own size), instead of layer -> input -> image.
    """
    return normalize_maps(upsample(maps.float(), size))


class Explainer:
    """Explain a model with one or many CAM methods sharing one forward/backward pass.

    Args:
        model: any ``nn.Module`` mapping a batch to ``(N, n_out)`` scores, or to a tuple, dict or Hugging
            Face ``ModelOutput`` holding them (see ``output``). A ``torch.compile`` wrapper is explained
            through the eager module it wraps (same parameters, same maps; compiled graphs would keep
            stale hooks).
        layer: target layer name / module, a list of them (maps fused), or None (automatic). A module
            that runs several times in one forward is explained at the call named by an ``@index``
            suffix, e.g. ``"layer4.1.relu@0"`` (negative: from the end); without one, at its last call,
            with a warning.
        class_names: names of the output classes (enables class-name targets and labels).
        reshape: how to read the layer's output as ``(N, C, *spatial)``: ``"auto"``/None (from its shape and
            the model: channels-first, channels-last or tokens), a layout name (``"tokens"``,
            ``"channels-last"``, ``"channels-first"``) or a callable (see :func:`netloupe.layers.plan_layers`).
        batch_size: extra inputs per pass for perturbation methods (Score-CAM, Ablation-CAM); None picks
            one for the device (see :func:`perturbation_batch_size`).
        eval_mode: run in eval mode (BatchNorm statistics, no dropout); each module's flag is restored.
        output: which of the model's outputs holds the scores: None (a tensor, the first element of a
            tuple, or ``"logits"`` of a dict/``ModelOutput``), a key, an index, or a callable on the raw
            output. With None and callable targets, a raw output holding no such tensor (a torchvision
            detector's list of dicts) is handed to the targets as is (e.g.
            :class:`~netloupe.targets.BoxScoreTarget`); ``logits`` are then the targets' scores.
    """

    def __init__(
        self,
        model: nn.Module,
        layer: LayersSpec = None,
        *,
        class_names: Sequence[str] | None = None,
        reshape: ReshapeSpec = None,
        batch_size: int | None = None,
        eval_mode: bool = True,
        output: OutputKey = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        self.model = model
        self.layer = layer
        self.class_names = list(class_names) if class_names is not None else None
        self.reshape = reshape
        self.batch_size = batch_size
        self.eval_mode = eval_mode
        self.output = output

    def explain(
        self,
        inputs: Tensor,
        methods: MethodsSpec | None = None,
        targets: TargetSpec = None,
        *,
        normalize: bool = True,
        relu: bool = True,
        upsample: bool = True,
        fuse: Literal["max", "mean"] = "max",
        method_kwargs: dict[str, dict[str, Any]] | None = None,
        on_pass: OnPass | None = None,
        cancel: CancelFlag | None = None,
    ) -> Explanation:
        """Compute maps for every method and target in one shared pass.

        Args:
            inputs: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)`` batch.
            methods: a registry name, a method instance, or a list of them. None: Grad-CAM, except for a
                global-attention transformer whose head reads a class token, explained without a named
                layer: attention rollout for the predicted class, gradient-weighted attention for other
                targets (see :mod:`netloupe.cam.attention_choice` for why; ``Explanation.method_reason``).
            targets: see :func:`netloupe.targets.resolve_targets` (default: the predicted class).
            normalize: min-max normalise each map to [0, 1].
            relu: keep only positive evidence (set False, with ``normalize=False``, for signed maps).
            upsample: resize maps to the input's spatial size (always on when fusing layers).
            fuse: how maps of several layers are combined.
            method_kwargs: per-method constructor options, e.g. ``{"scorecam": {"batch_size": 128}}``.
            on_pass: progress of the extra forward passes of perturbation methods (Score-CAM,
                Ablation-CAM, Smooth Grad-CAM++): called after each batch with ``(done, total)``; the
                total is planned before the first batch.
            cancel: a ``threading.Event`` (or a callable returning True) checked before the work and
                after each batch of extra passes; when set, :class:`~netloupe.errors.Cancelled` is raised
                with the model left as found (hooks removed, modes restored).
        """
        passes = Passes(on_pass, cancel)
        passes.check()
        model, layer_spec = unwrap_compiled(self.model, self.layer)
        x = self._check_inputs(inputs)
        reason = ""
        if methods is None:
            targets_named = targets is not None and not (isinstance(targets, TopK) and targets.k == 1)
            methods, reason = default_methods(model, layer_spec is not None, targets_named)
        instances = self._methods(methods, method_kwargs or {})
        layers = resolve_layer_refs(model, layer_spec, x)
        plan = plan_reshape(model, [(r.name, r.module) for r in layers], x, self.reshape, layer_spec is None)
        need_grad = any(m.needs_gradients for m in instances.values())
        need_head = any(m.needs_head for m in instances.values())
        output_key, targets = self._read_outputs(targets)

        def resolve(outputs: Tensor) -> TargetSet:
            return resolve_targets(targets, outputs, self.class_names)

        with eval_mode(model, self.eval_mode):
            capture, target_set = run_capture(model, x, layers, resolve, need_grad, plan.reshape, need_head, output_key)
            contexts = [
                self._context(model, cap, capture, target_set, x, passes, plan.reshape, output_key)
                for cap in capture.layers
            ]
            for ctx in contexts:
                for m in instances.values():
                    passes.plan(m.extra_passes(ctx))
            per_layer: dict[str, dict[str, Tensor]] = {}
            for ctx in contexts:
                maps_of_layer: dict[str, Tensor] = {}
                for name, m in instances.items():
                    passes.check()
                    maps_of_layer[name] = m.raw_map(ctx).float()
                per_layer[ctx.layer.name] = maps_of_layer

        maps = self._postprocess(per_layer, tuple(x.shape[2:]), normalize, relu, upsample or len(layers) > 1, fuse)
        layer_info = plan.layer_info(capture.layers)
        warn_gradient_cam_on_class_token(model, list(instances), layer_info)
        warn_gradient_cam_on_windowed_attention(model, list(instances))
        return Explanation(
            maps=maps,
            class_ids=target_set.class_ids,
            scores=capture.scores,
            logits=capture.outputs,
            probabilities=probabilities(capture.outputs),
            layers=[ref.name for ref in layers],
            class_names=self.class_names,
            layer_info=layer_info,
            method_reason=reason,
        )

    __call__ = explain

    # -- helpers -----------------------------------------------------------------------------------

    def _read_outputs(self, targets: TargetSpec) -> tuple[OutputKey, TargetSpec]:
        """How every pass reads the model's output, and the targets to apply to what it reads.

        Callable targets without ``output=``: a :class:`TargetReader`, so that a structured output
        (a detector's list of dicts) reaches them as is.
        """
        if self.output is not None:
            return self.output, targets
        if isinstance(targets, (str, bytes, TopK)) or targets is None:
            return None, targets
        if callable(targets):
            functions = [targets]
        elif isinstance(targets, Sequence) and targets and all(callable(t) for t in targets):
            functions = [t for t in targets if callable(t)]
        else:
            return None, targets
        reader = TargetReader(functions)
        return reader, list(reader.targets())

    def _check_inputs(self, inputs: Tensor) -> Tensor:
        if not isinstance(inputs, Tensor):
            raise InputError(f"inputs: expected a torch.Tensor, got {type(inputs).__name__}")
        if inputs.ndim not in (3, 4, 5):
            raise InputError(
                f"inputs: expected (N, C, L), (N, C, H, W) or (N, C, D, H, W), got shape {tuple(inputs.shape)}"
            )
        if not inputs.is_floating_point():
            raise InputError(f"inputs: expected a floating-point tensor, got {inputs.dtype}")
        if inputs.is_inference() and not torch.is_inference_mode_enabled():
            inputs = inputs.clone()  # made under torch.inference_mode(): autograd could not record it
        param = next(self.model.parameters(), None)
        return inputs.to(param.device) if param is not None else inputs

    @staticmethod
    def _methods(methods: MethodsSpec, kwargs: dict[str, dict[str, Any]]) -> dict[str, CAMMethod]:
        items = [methods] if isinstance(methods, (str, CAMMethod)) else list(methods)
        if not items:
            raise InputError("methods: expected at least one method")
        out: dict[str, CAMMethod] = {}
        for item in items:
            method = get_method(item, **kwargs.get(item if isinstance(item, str) else item.name, {}))
            out[method.name] = method
        return out

    def _context(
        self,
        model: nn.Module,
        layer_cap: LayerCapture,
        capture: Capture,
        target_set: TargetSet,
        x: Tensor,
        passes: Passes,
        reshape: ReshapeFn | None = None,
        output_key: OutputKey = None,
    ) -> CAMContext:
        def forward(batch: Tensor) -> Tensor:
            with torch.no_grad():
                return select_output(model(batch), output_key)

        def forward_replaced(rows: Tensor, replacement: Tensor) -> Tensor:
            seen = [0]

            def hook(_m: nn.Module, _i: object, out: object) -> object:
                call = seen[0]
                seen[0] += 1
                if call != layer_cap.call:  # a module run several times: replace the explained call only
                    return None
                if isinstance(out, (tuple, list)):
                    return type(out)([replacement, *out[1:]])
                return replacement

            handle = layer_cap.module.register_forward_hook(hook)
            try:
                return forward(x[rows])
            finally:
                handle.remove()

        def recapture(new_inputs: Tensor, rows: Tensor) -> LayerCapture:
            if target_set.class_ids is not None:
                repeated = TargetSet(class_ids=target_set.class_ids[rows])
            else:
                repeated = TargetSet(class_ids=None, functions=target_set.functions)
            ref = LayerRef(layer_cap.name, layer_cap.module, layer_cap.call)
            cap, _ = run_capture(model, new_inputs, [ref], lambda _o: repeated, True, reshape, output=output_key)
            return cap.layers[0]

        return CAMContext(
            layer=layer_cap,
            capture=capture,
            targets=target_set,
            model=model,
            inputs=x,
            forward=forward,
            forward_replaced=forward_replaced,
            recapture=recapture,
            batch_size=self.batch_size or perturbation_batch_size(x.device),
            passes=passes,
        )

    @staticmethod
    def _postprocess(
        per_layer: dict[str, dict[str, Tensor]],
        size: tuple[int, ...],
        normalize: bool,
        relu: bool,
        resize: bool,
        fuse: str,
    ) -> dict[str, Tensor]:
        def finish(m: Tensor) -> Tensor:
            m = m.clamp(min=0) if relu else m
            m = upsample(m, size) if resize else m
            return normalize_maps(m) if normalize else m

        finished: dict[str, list[Tensor]] = {}
        for maps in per_layer.values():
            names = list(maps)
            if len(names) > 1 and len({maps[n].shape[:1] + maps[n].shape[2:] for n in names}) == 1:
                # One resize and one normalisation for every method's maps of the layer, then split into
                # tensors with their own storage (a view would keep, and torch.save write, all methods' maps).
                parts = finish(torch.cat([maps[n] for n in names], dim=1)).split([maps[n].shape[1] for n in names], 1)
                done = [part.clone() for part in parts]
            else:
                done = [finish(maps[n]) for n in names]
            for name, m in zip(names, done, strict=True):
                finished.setdefault(name, []).append(m)
        fused: dict[str, Tensor] = {}
        for name, stack in finished.items():
            if len(stack) == 1:
                fused[name] = stack[0]
                continue
            combined = torch.stack(stack).amax(0) if fuse == "max" else torch.stack(stack).mean(0)
            fused[name] = normalize_maps(combined) if normalize else combined
        return fused


def explain(
    model: nn.Module,
    inputs: Tensor,
    methods: MethodsSpec | None = None,
    targets: TargetSpec = None,
    layer: LayersSpec = None,
    *,
    class_names: Sequence[str] | None = None,
    reshape: ReshapeSpec = None,
    batch_size: int | None = None,
    output: OutputKey = None,
    **options: Any,
) -> Explanation:
    """Functional form of :class:`Explainer` (see :meth:`Explainer.explain` for ``options``)."""
    explainer = Explainer(model, layer, class_names=class_names, reshape=reshape, batch_size=batch_size, output=output)
    return explainer.explain(inputs, methods, targets, **options)
