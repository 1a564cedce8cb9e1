"""The explain request: model, methods, targets, layer, top-k and device, checked and resolved once.

Every front end (``netloupe explain``/``run``, the web app, the demo, the medical commands) builds one
:class:`ExplainRequest` with :func:`build_request` before any input is read, so a bad option fails
fast with one clear line instead of once per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from .._typing import LayersSpec
from ..cam._capture import check_hookable, split_call
from ..cam.attention_choice import default_methods
from ..cam.registry import get_method
from ..errors import InputError
from ..layers import ReshapeSpec, resolve_layer
from ..models.compat import default_top_k
from ..models.zoo import LoadedModel
from ..targets import TargetSpec, TopK, resolve_targets

__all__ = ["AUTO", "ExplainRequest", "Grid", "build_request"]

#: the method name that lets netloupe choose (see :func:`build_request`)
AUTO = "auto"

DEFAULT_TOP_K = 3  # the engine's documented default; build_request adapts it to the model (default_top_k)
Grid = Literal["item", "input"]


@dataclass(frozen=True)
class ExplainRequest:
    """What to compute, resolved. Build it with :func:`build_request`.

    Attributes:
        loaded: the model and how to feed it.
        methods: registry names (deduplicated, in the order given); all share one pass per batch.
        method_reason: why these methods, when netloupe chose them (``"auto"``); empty when they were named.
        top_k: the k most probable classes are explained (when ``target`` is None).
        target: a class index or name, or a callable target, to explain instead of the top-k.
        layer: the target layer (name, module or list), None for the automatic choice.
        device: where the passes, resizing and overlays run.
        batch_size: items per pass.
        grid: ``"item"``: maps at each item's own grid (photo size, DICOM/NIfTI grid); ``"input"``: at
            the model's input grid (one shape for a whole dataset, as a chunked store wants).
        overlays: compute colour overlays on the device (for sinks that write pictures).
        channels_last: run 2-D batches in channels-last memory order (converts the model's weights in
            place; ~1.5x faster convolutions on CPUs, maps equal to ~1e-6).
        output: which part of a dict / ``ModelOutput`` / tuple output holds the scores (None: ``logits``,
            else the tensor itself or the first element).
        layout: how the layer's output is read: ``"auto"`` (from its shape and the model),
            ``"channels-first"``, ``"channels-last"``, ``"tokens"``, or a callable (see :mod:`netloupe.layout`).
    """

    loaded: LoadedModel
    methods: tuple[str, ...]
    method_reason: str = ""
    top_k: int = DEFAULT_TOP_K
    target: TargetSpec = None
    layer: LayersSpec = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    batch_size: int = 8
    grid: Grid = "item"
    overlays: bool = True
    channels_last: bool = False
    output: str | int | None = None
    layout: ReshapeSpec = "auto"

    @property
    def targets(self) -> TargetSpec:
        """The target specification the engine gets."""
        return TopK(self.top_k) if self.target is None else self.target

    @property
    def layer_name(self) -> str | None:
        """The layer as recorded in manifests and run configs (None: automatic)."""
        return self.layer if isinstance(self.layer, str) or self.layer is None else str(self.layer)


def _num_outputs(loaded: LoadedModel) -> int:
    """Output width (1 for a single-logit model), read from the last linear layer when there is one."""
    last = [m for m in loaded.model.modules() if isinstance(m, torch.nn.Linear)]
    if last:
        return int(last[-1].out_features)
    return max(1, len(loaded.class_names))


def build_request(
    loaded: LoadedModel,
    methods: str | Sequence[str] = AUTO,
    *,
    top_k: int | None = None,
    target: TargetSpec = None,
    layer: LayersSpec = None,
    device: str | torch.device = "cpu",
    batch_size: int = 8,
    grid: Grid = "item",
    overlays: bool = True,
    channels_last: bool = False,
    output: str | int | None = None,
    layout: ReshapeSpec = "auto",
) -> ExplainRequest:
    """Check and resolve everything that does not depend on the inputs.

    Args:
        loaded: a model from :func:`netloupe.load_model`.
        methods: registry names (``"gradcam,layercam"`` or a list), or ``"auto"``: Grad-CAM, except for a
            global-attention transformer whose head reads a class token, explained without a named layer:
            attention rollout for its predicted class, gradient-weighted attention for other or several
            classes (:mod:`netloupe.cam.attention_choice` says why; the reason is kept in
            ``method_reason``).
        top_k: classes to explain per item (None: 1 with a ``target``, else
            :func:`netloupe.models.compat.default_top_k`).
        target: a class index or name (or a callable) instead of the top-k.
        layer: target layer (None: the model's recommended layer, else automatic).
        device: where to run.
        batch_size: items per pass (>= 1).
        grid: where maps are stored, see :class:`ExplainRequest`.
        overlays: compute colour overlays.
        channels_last: see :class:`ExplainRequest`.
        output: see :class:`ExplainRequest`.
        layout: see :class:`ExplainRequest`.

    Raises:
        UnknownMethod, LayerNotFound, TargetError, InputError, MethodNotApplicable: with the parameter named.
    """
    names = [n for n in (m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods)) if n]
    reason = ""
    if AUTO in names:
        if names != [AUTO]:
            raise InputError(f"methods: '{AUTO}' lets netloupe choose and stands alone, got {', '.join(names)}")
        # rollout does not depend on the class: a named class or several classes need a class-specific method
        class_specific = target is not None or (top_k if top_k is not None else default_top_k(loaded)) > 1
        names, reason = default_methods(loaded.model, layer is not None, class_specific)
    resolved = list(dict.fromkeys(get_method(m).name for m in names))
    if not resolved:
        raise InputError("methods: expected at least one method name")
    if batch_size < 1:
        raise InputError(f"batch_size: must be >= 1, got {batch_size}")
    if grid not in ("item", "input"):
        raise InputError(f"grid: expected 'item' or 'input', got {grid!r}")
    check_hookable(loaded.model)
    chosen = layer if layer is not None else loaded.target_layer
    if isinstance(chosen, str):
        resolve_layer(loaded.model, split_call(chosen)[0])  # 'layer4.1.relu@0': a call index
    if top_k is None:  # one explicit target is one map per method; else the model's classes, up to three
        k = 1 if target is not None else default_top_k(loaded)
    else:
        k = top_k
    probe = torch.zeros(1, _num_outputs(loaded))
    resolve_targets(TopK(k) if target is None else target, probe, loaded.class_names or None)
    return ExplainRequest(
        loaded=loaded,
        methods=tuple(resolved),
        method_reason=reason,
        top_k=k,
        target=target,
        layer=chosen,
        device=torch.device(device),
        batch_size=batch_size,
        grid=grid,
        overlays=overlays,
        channels_last=channels_last,
        output=output,
        layout=layout,
    )
