"""One calling convention for netloupe and the peer libraries, so the benchmark compares like with like.

Every adapter is ``make(model, layer_name, method) -> run(x, classes) -> maps (N, H, W) numpy or tensor``.
Peers are optional (benchmark-only dependencies); a missing one is reported as unavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["LIBRARIES", "PEER_METHODS", "PEER_RESHAPES", "make_runner"]

Runner = Callable[[Tensor, list[int]], Any]

#: method -> class name in each library (None: the library does not have it)
PEER_METHODS: dict[str, dict[str, str | None]] = {
    "pytorch-grad-cam": {
        "gradcam": "GradCAM",
        "gradcam++": "GradCAMPlusPlus",
        "layercam": "LayerCAM",
        "scorecam": "ScoreCAM",
    },
    "torchcam": {"gradcam": "GradCAM", "gradcam++": "GradCAMpp", "layercam": "LayerCAM", "scorecam": "ScoreCAM"},
    "captum": {"gradcam": "LayerGradCam"},
}
LIBRARIES = ["netloupe", *PEER_METHODS]


def _vit_tokens(tensor: Tensor) -> Tensor:
    """pytorch-grad-cam's documented ViT reshape_transform: drop the class token, 14x14 grid."""
    result = tensor[:, 1:, :].reshape(tensor.size(0), 14, 14, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def _swin_channels_last(tensor: Tensor) -> Tensor:
    """pytorch-grad-cam's Swin recipe for timm >= 0.9, whose blocks output (B, H, W, C)."""
    return tensor.permute(0, 3, 1, 2)


#: benchmark model -> the reshape a peer user must write by hand (netloupe reads the layout itself)
PEER_RESHAPES: dict[str, Callable[[Tensor], Tensor]] = {"vit-b16": _vit_tokens, "swin-t": _swin_channels_last}


def _module(model: nn.Module, name: str) -> nn.Module:
    return dict(model.named_modules())[name]


def make_runner(
    library: str,
    model: nn.Module,
    layer: str,
    method: str | list[str],
    top_k: int = 1,
    reshape: Callable[[Tensor], Tensor] | None = None,
) -> Runner | None:
    """A callable computing the maps of ``method`` for ``classes`` (one per sample), or None if unsupported.

    ``reshape``: the peer's reshape_transform for token / channels-last layers (pytorch-grad-cam takes
    one; TorchCAM and Captum have none, so they are left out of those rows). netloupe reads the layout itself.
    """
    if library == "netloupe":
        from ..cam.engine import Explainer
        from ..targets import TopK

        explainer = Explainer(model, layer)  # the default: perturbation batches sized for the device

        def run_ours(x: Tensor, classes: list[int]) -> Tensor:
            targets = TopK(top_k) if top_k > 1 else classes
            return next(iter(explainer.explain(x, method, targets).maps.values()))

        return run_ours
    if isinstance(method, list) or top_k > 1:
        return None  # peers take one method and one class per call
    if reshape is not None and library != "pytorch-grad-cam":
        return None  # no way to read tokens or channels-last outputs
    name = PEER_METHODS.get(library, {}).get(method)
    if name is None:
        return None
    if library == "pytorch-grad-cam":
        import pytorch_grad_cam as pgc
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        cam = getattr(pgc, name)(model=model, target_layers=[_module(model, layer)], reshape_transform=reshape)

        def run_pgc(x: Tensor, classes: list[int]) -> Any:
            return cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])

        return run_pgc
    if library == "torchcam":
        import torchcam.methods as tcm

        def run_torchcam(x: Tensor, classes: list[int]) -> Any:
            extractor = getattr(tcm, name)(model, target_layer=layer)
            try:
                with torch.set_grad_enabled(method != "scorecam"):
                    out = model(x)
                return extractor(classes, out)[0]
            finally:
                extractor.remove_hooks()

        return run_torchcam
    if library == "captum":
        import captum.attr as ca

        lgc = getattr(ca, name)(model, _module(model, layer))

        def run_captum(x: Tensor, classes: list[int]) -> Any:
            attr = lgc.attribute(x, target=classes, relu_attributions=True)
            return ca.LayerAttribution.interpolate(attr, tuple(x.shape[2:]), "bilinear")

        return run_captum
    raise ValueError(f"library: expected one of {LIBRARIES}, got {library!r}")
