"""The single forward (and backward) pass that every CAM method shares.

Hooks record the target layers' outputs. For gradient methods the forward runs *without* autograd up
to the first target layer, which hands a fresh leaf tensor to the rest of the network with autograd
switched on: the backward then stops at the target layer by construction, and no graph is kept for
the layers before it (``torch.autograd.grad`` w.r.t. the leaf, never ``backward()`` into the weights).
The K targets of a top-k request share ONE batched backward (``is_grads_batched``), with a loop of K
backward passes as the fallback for models whose operations vmap cannot batch.

A module that runs several times in one forward (torchvision's ResNet blocks call ``self.relu`` twice)
is explained at one call: name it with an ``@index`` suffix, ``"layer4.1.relu@0"`` (negative indices
count from the end); without one, the last call is explained and a warning says so.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from .._typing import LayerSpec, LayersSpec, ReshapeFn
from ..errors import InputError, MethodNotApplicable, NetloupeError
from ..layers import resolve_layers
from ..targets import TargetSet
from ._outputs import OutputKey, select_output

__all__ = [
    "Capture",
    "LayerCapture",
    "LayerRef",
    "call_model",
    "check_hookable",
    "resolve_layer_refs",
    "run_capture",
    "split_call",
    "target_gradients",
    "unwrap_compiled",
]

COMPILED_PREFIX = "_orig_mod."


def check_hookable(model: nn.Module) -> None:
    """TorchScript modules refuse Python hooks: say so, and what to do instead."""
    if isinstance(model, torch.jit.ScriptModule):
        raise MethodNotApplicable(
            "model: TorchScript modules cannot carry the hooks that CAMs need; load the architecture with "
            "arch=... and a state dict (CLI: --arch/--checkpoint), or pass the nn.Module itself"
        )


def unwrap_compiled(model: nn.Module, layer: LayersSpec = None) -> tuple[nn.Module, LayersSpec]:
    """The eager module behind a ``torch.compile`` wrapper, and the layer spec in its names.

    A compiled graph bakes in the hooks present when it was traced, so hooks registered for a later
    explanation may never run. The wrapper's ``_orig_mod`` holds the same parameters: explanations run
    on it eagerly (same maps), and a layer named ``"_orig_mod.x"`` becomes ``"x"``. Other models and
    layer specs are returned unchanged.

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 1, 1))
    >>> inner, layer = unwrap_compiled(torch.compile(net), "_orig_mod.0")
    >>> inner is net, layer
    (True, '0')
    """
    inner = getattr(model, "_orig_mod", None)
    if not isinstance(inner, nn.Module) or type(model).__name__ != "OptimizedModule":
        return model, layer

    def strip(spec: LayerSpec) -> LayerSpec:
        return spec.removeprefix(COMPILED_PREFIX) if isinstance(spec, str) else spec

    if isinstance(layer, (str, nn.Module)) or layer is None:
        return inner, strip(layer) if layer is not None else None
    return inner, [strip(spec) for spec in layer]


# Messages torch raises when the *inputs* do not fit the model (shape, channels, size, dtype, device).
_INPUT_MISMATCH = re.compile(
    "|".join(
        (
            r"expected input\[.*\] to have \d+ channels",
            r"Expected \d+D \(unbatched\) or \d+D \(batched\) input",
            r"mat1 and mat2 shapes cannot be multiplied",
            r"Kernel size can't be greater than actual input size",
            r"Output size is too small",
            r"Padding size should be less than the corresponding input dimension",
            r"shape '\[.*\]' is invalid for input of size",
            r"Given normalized_shape=.*expected input with shape",
            r"input\.size\(-1\) must be equal to input_size",
            r"The size of tensor a \(\d+\) must match the size of tensor b",
            r"Expected more than 1 value per channel when training",
            r"Input type \(.*\) and (weight|bias) type \(.*\) should be the same",
            r"expected scalar type \w+ but found \w+",
            r"mat1 and mat2 must have the same dtype",
            r"Input and parameter tensors are not at the same device",
            r"Expected all tensors to be on the same device",
            r"Input (image )?(height|width|size).*doesn't match model",
        )
    )
)


def is_input_mismatch(exc: BaseException) -> bool:
    """Whether ``exc`` is torch saying that the inputs do not fit the model (shape, dtype or device).

    Out-of-memory errors, netloupe's own errors and any other exception (a bug in the model, in a hook)
    are not: they propagate unchanged.
    """
    if isinstance(exc, (NetloupeError, torch.OutOfMemoryError)):
        return False
    if not isinstance(exc, (RuntimeError, ValueError, TypeError, AssertionError)):
        return False
    return _INPUT_MISMATCH.search(str(exc)) is not None


def call_model(model: nn.Module, inputs: Tensor) -> Any:
    """``model(inputs)``, with a one-line :class:`InputError` when torch says the inputs do not fit.

    Only shape/size/dtype/device mismatches become :class:`InputError` (see :func:`is_input_mismatch`);
    out-of-memory errors, errors of the model's own code and netloupe's errors propagate unchanged.
    """
    try:
        return model(inputs)
    except Exception as exc:
        if not is_input_mismatch(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise InputError(
            f"inputs: the model failed on inputs of shape {tuple(inputs.shape)} "
            f"({str(inputs.dtype).removeprefix('torch.')}), which it does not accept: {first}"
        ) from exc


_CALL_SUFFIX = re.compile(r"^(?P<name>.+)@(?P<call>-?\d+)$")


def split_call(spec: LayerSpec) -> tuple[LayerSpec, int | None]:
    """Split ``"name@i"`` into ``("name", i)``; other specs come back with no call index.

    >>> split_call("layer4.1.relu@0"), split_call("layer4.1.relu@-1"), split_call("features.3")
    (('layer4.1.relu', 0), ('layer4.1.relu', -1), ('features.3', None))
    """
    if isinstance(spec, str):
        match = _CALL_SUFFIX.match(spec.strip())
        if match:
            return match["name"], int(match["call"])
    return spec, None


@dataclass(frozen=True)
class LayerRef:
    """A target layer: its display name, the module, and which of its calls in one forward to explain.

    ``call`` None means "the last call, and warn if there were several"; an integer picks that call
    (negative: from the end).
    """

    name: str
    module: nn.Module
    call: int | None = None


def resolve_layer_refs(model: nn.Module, layers: LayersSpec, inputs: Tensor) -> list[LayerRef]:
    """Resolve layer specs (names with an optional ``@call`` suffix, modules, None for automatic).

    The automatic choice is the last layer with spatial output in execution order, i.e. the *last*
    call of a module that runs several times: it is taken as such, without a warning.
    """
    if layers is None:
        return [LayerRef(name, module, -1) for name, module in resolve_layers(model, None, inputs)]
    specs: list[LayerSpec] = [layers] if isinstance(layers, (str, nn.Module)) else list(layers)
    split = [split_call(spec) for spec in specs]
    resolved = resolve_layers(model, [s for s, _ in split], inputs) if split else []
    return [
        LayerRef(name if call is None else f"{name}@{call}", module, call)
        for (name, module), (_, call) in zip(resolved, split, strict=True)
    ]


@dataclass
class LayerCapture:
    """What one target layer saw in the pass."""

    name: str
    module: nn.Module
    activations: Tensor  # (N, C, *S), detached
    gradients: Tensor | None  # (N, K, C, *S): d score_k / d activations, detached
    raw_shape: torch.Size  # the layer output's own shape, before any reshape transform
    call: int = 0  # which call of the module (0-based) these come from
    calls: int = 1  # how many times the module ran in the forward pass


@dataclass
class Capture:
    """The shared pass: outputs, target scores and every target layer's activations/gradients."""

    outputs: Tensor  # (N, n_out), detached
    scores: Tensor  # (N, K), detached
    layers: list[LayerCapture]
    head: nn.Linear | None = None
    head_input: Tensor | None = None  # input of the last executed nn.Linear (for CAM's head check)
    head_output: Tensor | None = None


def _first_tensor(out: object) -> Tensor:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    raise InputError(f"layer: its output is a {type(out).__name__}, expected a tensor (or a tuple starting with one)")


def _replace_first(out: object, new: Tensor) -> object:
    if isinstance(out, Tensor):
        return new
    assert isinstance(out, (tuple, list))
    return type(out)([new, *out[1:]])


def target_gradients(scores: Tensor, tensors: Sequence[Tensor], batched: bool = True) -> list[Tensor]:
    """``d scores[:, k] / d tensor`` for every target k, stacked as ``(N, K, *tensor.shape[1:])``.

    K = 1 is one plain backward. For K > 1 one batched backward (``is_grads_batched`` over one-hot
    ``grad_outputs``) computes all K at once; if vmap cannot batch an operation of the model (or runs
    out of memory), a loop of K backward passes gives the same values. ``batched=False`` forces the loop.
    Unused tensors get zero gradients.
    """
    n, k = scores.shape
    if k == 1:
        grads = torch.autograd.grad(scores[:, 0].sum(), tensors, allow_unused=True)
        return [_or_zeros(g, t).unsqueeze(1) for g, t in zip(grads, tensors, strict=True)]
    if batched:
        one_hot = torch.eye(k, dtype=scores.dtype, device=scores.device)[:, None, :].expand(k, n, k).contiguous()
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*performance drop.*")
                grads = torch.autograd.grad(
                    scores, tensors, one_hot, retain_graph=True, allow_unused=True, is_grads_batched=True
                )
            return [_or_zeros(g, t, k).movedim(0, 1).contiguous() for g, t in zip(grads, tensors, strict=True)]
        except RuntimeError:
            pass  # vmap has no batching rule for some operation: one backward per target below
    per_target = [
        torch.autograd.grad(scores[:, j].sum(), tensors, retain_graph=j < k - 1, allow_unused=True) for j in range(k)
    ]
    return [torch.stack([_or_zeros(g[i], t) for g in per_target], dim=1) for i, t in enumerate(tensors)]


def _or_zeros(grad: Tensor | None, like: Tensor, batch: int = 0) -> Tensor:
    if grad is not None:
        return grad
    zeros = torch.zeros_like(like)
    return zeros.expand(batch, *zeros.shape) if batch else zeros


def _as_refs(layers: Sequence[LayerRef | tuple[str, nn.Module]]) -> list[LayerRef]:
    return [ref if isinstance(ref, LayerRef) else LayerRef(ref[0], ref[1]) for ref in layers]


def run_capture(
    model: nn.Module,
    inputs: Tensor,
    layers: Sequence[LayerRef | tuple[str, nn.Module]],
    resolve: Callable[[Tensor], TargetSet],
    need_gradients: bool,
    reshape: ReshapeFn | None = None,
    need_head: bool = False,
    output: OutputKey = None,
) -> tuple[Capture, TargetSet]:
    """Run the model once on ``inputs`` and capture what the methods need.

    Args:
        model: the network (its mode is the caller's business; see ``eval_mode``).
        inputs: the batch.
        layers: the layers to record (``LayerRef`` or ``(name, module)`` pairs).
        resolve: turns the outputs into the targets to explain (called once, on detached outputs).
        need_gradients: record d score / d activations for every target.
        reshape: optional transform of a layer's output to (N, C, *spatial), e.g. ViT tokens.
        need_head: record the input/output of the last executed ``nn.Linear`` (CAM needs it).
        output: which of the model's outputs to explain (see :func:`select_output`).
    """
    check_hookable(model)
    refs = _as_refs(layers)
    if need_gradients and torch.is_inference_mode_enabled():
        raise MethodNotApplicable(
            "methods: gradient methods cannot run under torch.inference_mode(), which turns autograd off for "
            "good; call explain outside it (torch.no_grad() around it is fine), or use a gradient-free method "
            "(eigencam, scorecam, ablationcam)"
        )
    # Every call of a target module is counted; only the chosen call is kept (all calls when the
    # choice counts from the end, since the number of calls is known only after the forward).
    records: list[list[Tensor]] = [[] for _ in refs]
    counts = [0] * len(refs)
    handles: list[RemovableHandle] = []
    head_record: dict[str, object] = {}
    grad_before = torch.is_grad_enabled()

    def make_hook(i: int) -> Callable[[nn.Module, object, object], object]:
        want = refs[i].call

        def hook(_module: nn.Module, _inp: object, out: object) -> object:
            call = counts[i]
            counts[i] += 1
            if want is not None and want >= 0 and call != want:
                return None
            tensor = _first_tensor(out)
            keep_all = want is not None and want < -1
            if not need_gradients:
                # A copy: an in-place op after the layer (ReLU(inplace=True)) would overwrite the output.
                _store(records[i], tensor.detach().clone(), keep_all)
                return None
            if not torch.is_grad_enabled() or not tensor.requires_grad:
                # First target layer reached: from here on autograd records, starting at a fresh leaf.
                # (Also a later target computed from nothing recorded, e.g. a module's second call on
                # a branch that does not pass through its first.)
                torch.set_grad_enabled(True)
                tensor = tensor.detach().requires_grad_(True)
            _store(records[i], tensor, keep_all)
            # Hand a copy downstream so that in-place ops after the layer cannot overwrite what we saved.
            return _replace_first(out, tensor.clone())

        return hook

    def head_hook(module: nn.Module, inp: tuple[Tensor, ...], out: Tensor) -> None:
        head_record["module"] = module
        head_record["input"] = inp[0].detach()
        head_record["output"] = out.detach()

    for i, ref in enumerate(refs):
        handles.append(ref.module.register_forward_hook(make_hook(i)))
    if need_head:
        handles.extend(m.register_forward_hook(head_hook) for m in model.modules() if isinstance(m, nn.Linear))
    try:
        torch.set_grad_enabled(False)
        outputs = select_output(call_model(model, inputs), output)
        chosen = _chosen_calls(refs, counts, records)
        targets = resolve(outputs.detach())
        scores = targets.scores(outputs)
        gradients: list[Tensor | None] = [None] * len(refs)
        if need_gradients:
            if not scores.requires_grad:
                raise MethodNotApplicable(
                    "layer: the scores do not depend on the target layer's output (is it on the path to the output?)"
                )
            gradients = list(target_gradients(scores, [t for t, _ in chosen]))
    finally:
        torch.set_grad_enabled(grad_before)
        for handle in handles:
            handle.remove()

    captured = []
    for ref, (tensor, call), lgrads, calls in zip(refs, chosen, gradients, counts, strict=True):
        acts = tensor.detach()
        raw_shape = acts.shape
        if reshape is not None:
            acts = reshape(acts)
            if lgrads is not None:
                n, k = lgrads.shape[:2]
                lgrads = reshape(lgrads.flatten(0, 1)).unflatten(0, (n, k))
        if acts.ndim < 3:
            raise InputError(
                f"layer: {ref.name!r} outputs shape {tuple(acts.shape)} without spatial extent; choose an earlier layer"
            )
        captured.append(
            LayerCapture(
                ref.name,
                ref.module,
                acts,
                lgrads.detach() if lgrads is not None else None,
                raw_shape,
                call,
                calls,
            )
        )
    head = head_record.get("module")
    return (
        Capture(
            outputs=outputs.detach(),
            scores=scores.detach(),
            layers=captured,
            head=head if isinstance(head, nn.Linear) else None,
            head_input=head_record.get("input"),  # type: ignore[arg-type]
            head_output=head_record.get("output"),  # type: ignore[arg-type]
        ),
        targets,
    )


def _store(record: list[Tensor], tensor: Tensor, keep_all: bool) -> None:
    if keep_all:
        record.append(tensor)
    else:
        record[:] = [tensor]


def _chosen_calls(refs: list[LayerRef], counts: list[int], records: list[list[Tensor]]) -> list[tuple[Tensor, int]]:
    """The recorded tensor of every layer and the (0-based) call it comes from; errors and warnings."""
    missing = [ref.name for ref, n in zip(refs, counts, strict=True) if n == 0]
    if missing:
        raise InputError(f"layer: {', '.join(missing)} did not run in the forward pass; pick a layer on the path")
    chosen = []
    for ref, n, record in zip(refs, counts, records, strict=True):
        want = ref.call
        if want is None:
            if n > 1:
                warnings.warn(
                    f"layer {ref.name!r} ran {n} times in one forward pass; its last call (index {n - 1}) is "
                    f"explained. Name the call to explain, e.g. layer='{ref.name}@0', to choose and silence this.",
                    UserWarning,
                    stacklevel=5,
                )
            chosen.append((record[-1], n - 1))
        elif not -n <= want < n:
            raise InputError(
                f"layer: {ref.name!r} asks for call {want} but the module ran {n} time{'s' * (n != 1)} in the "
                f"forward pass; use an index in [{-n}, {n - 1}]"
            )
        elif want >= 0:
            chosen.append((record[-1], want))
        elif want == -1:
            chosen.append((record[-1], n - 1))
        else:
            chosen.append((record[want], n + want))
    return chosen
