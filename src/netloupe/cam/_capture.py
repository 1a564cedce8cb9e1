"""The single forward (and backward) pass that every CAM method shares.

Hooks record the target layers' outputs. For gradient methods the forward runs *without* autograd up
to the first target layer, which hands a fresh leaf tensor to the rest of the network with autograd
switched on: the backward then stops at the target layer by construction, and no graph is kept for
the layers before it (``torch.autograd.grad`` w.r.t. the leaf, never ``backward()`` into the weights).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from .._typing import ReshapeFn
from ..errors import InputError, MethodNotApplicable
from ..targets import TargetSet

__all__ = ["Capture", "LayerCapture", "call_model", "check_hookable", "run_capture"]


def check_hookable(model: nn.Module) -> None:
    """TorchScript modules refuse Python hooks: say so, and what to do instead."""
    if isinstance(model, torch.jit.ScriptModule):
        raise MethodNotApplicable(
            "model: TorchScript modules cannot carry the hooks that CAMs need; load the architecture with "
            "arch=... and a state dict (CLI: --arch/--checkpoint), or pass the nn.Module itself"
        )


def call_model(model: nn.Module, inputs: Tensor) -> Tensor:
    """``model(inputs)`` with a one-line :class:`InputError` when the model rejects the inputs."""
    try:
        out = model(inputs)
    except (RuntimeError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"inputs: the model failed on inputs of shape {tuple(inputs.shape)}: {first}") from exc
    return out


@dataclass
class LayerCapture:
    """What one target layer saw in the pass."""

    name: str
    module: nn.Module
    activations: Tensor  # (N, C, *S), detached
    gradients: Tensor | None  # (N, K, C, *S): d score_k / d activations, detached
    raw_shape: torch.Size  # the layer output's own shape, before any reshape transform


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


def run_capture(
    model: nn.Module,
    inputs: Tensor,
    layers: Sequence[tuple[str, nn.Module]],
    resolve: Callable[[Tensor], TargetSet],
    need_gradients: bool,
    reshape: ReshapeFn | None = None,
    need_head: bool = False,
) -> tuple[Capture, TargetSet]:
    """Run the model once on ``inputs`` and capture what the methods need.

    Args:
        model: the network (its mode is the caller's business; see ``eval_mode``).
        inputs: the batch.
        layers: ``(name, module)`` pairs to record.
        resolve: turns the outputs into the targets to explain (called once, on detached outputs).
        need_gradients: record d score / d activations for every target.
        reshape: optional transform of a layer's output to (N, C, *spatial), e.g. ViT tokens.
        need_head: record the input/output of the last executed ``nn.Linear`` (CAM needs it).
    """
    check_hookable(model)
    recorded: dict[str, Tensor] = {}
    handles: list[RemovableHandle] = []
    head_record: dict[str, object] = {}
    grad_before = torch.is_grad_enabled()

    def make_hook(name: str) -> Callable[[nn.Module, object, object], object]:
        def hook(_module: nn.Module, _inp: object, out: object) -> object:
            tensor = _first_tensor(out)
            if not need_gradients:
                recorded[name] = tensor.detach()
                return None
            if not torch.is_grad_enabled():
                # First target layer reached: from here on autograd records, starting at a fresh leaf.
                torch.set_grad_enabled(True)
                tensor = tensor.detach().requires_grad_(True)
            recorded[name] = tensor
            # Hand a copy downstream so that in-place ops after the layer cannot overwrite what we saved.
            return _replace_first(out, tensor.clone())

        return hook

    def head_hook(module: nn.Module, inp: tuple[Tensor, ...], out: Tensor) -> None:
        head_record["module"] = module
        head_record["input"] = inp[0].detach()
        head_record["output"] = out.detach()

    for name, module in layers:
        handles.append(module.register_forward_hook(make_hook(name)))
    if need_head:
        handles.extend(m.register_forward_hook(head_hook) for m in model.modules() if isinstance(m, nn.Linear))
    try:
        torch.set_grad_enabled(False)
        outputs = call_model(model, inputs)
        if isinstance(outputs, (tuple, list)):
            outputs = outputs[0]
        if not isinstance(outputs, Tensor):
            raise InputError(f"model: expected a tensor output, got {type(outputs).__name__}")
        missing = [name for name, _ in layers if name not in recorded]
        if missing:
            raise InputError(f"layer: {', '.join(missing)} did not run in the forward pass; pick a layer on the path")
        targets = resolve(outputs.detach())
        scores = targets.scores(outputs)
        gradients: list[Tensor | None] = [None] * len(layers)
        if need_gradients:
            if not scores.requires_grad:
                raise MethodNotApplicable(
                    "layer: the scores do not depend on the target layer's output (is it on the path to the output?)"
                )
            tensors = [recorded[name] for name, _ in layers]
            per_target = [
                torch.autograd.grad(
                    scores[:, k].sum(), tensors, retain_graph=k < scores.shape[1] - 1, allow_unused=True
                )
                for k in range(scores.shape[1])
            ]
            for i in range(len(layers)):
                grads = [g[i] if g[i] is not None else torch.zeros_like(tensors[i]) for g in per_target]
                gradients[i] = torch.stack(grads, dim=1)
    finally:
        torch.set_grad_enabled(grad_before)
        for handle in handles:
            handle.remove()

    captured = []
    for (name, module), lgrads in zip(layers, gradients, strict=True):
        acts = recorded[name].detach()
        raw_shape = acts.shape
        if reshape is not None:
            acts = reshape(acts)
            if lgrads is not None:
                n, k = lgrads.shape[:2]
                lgrads = reshape(lgrads.flatten(0, 1)).unflatten(0, (n, k))
        if acts.ndim < 3:
            raise InputError(
                f"layer: {name!r} outputs shape {tuple(acts.shape)} without spatial extent; choose an earlier layer"
            )
        captured.append(LayerCapture(name, module, acts, lgrads.detach() if lgrads is not None else None, raw_shape))
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
