"""The method netloupe picks when none is named, and the warning for gradient CAMs on class-token transformers.

On a transformer whose head reads a class (or distillation) token, the patch tokens reach the score
only through that token's attention: the gradient at patch token ``j`` of a block's input is (value
path) ``a_j u``, the attention to ``j`` times one vector per image. A gradient CAM averages or weighs
that gradient per channel and multiplies it with the layer's normalised token features, so the map
follows feature similarity, not where the class token looks: on synthetic ground truth (tiny
ViT+registers and DeiT, ``results/transformers/ground_truth.md`` and ``layer_sweep.md``), Grad-CAM at
the automatic layer puts its maximum on the object in 58-66% of held-out images, no gradient CAM at any
single layer reaches 95%, while attention rollout (Abnar & Zuidema 2020) reaches 96-97%, and the
gradient norm at the same layer (where the score is sensitive) 97% on the ViT.

So, when neither a method nor a layer is named, such a model is explained by attention rollout for its
predicted class and by gradient-weighted attention (Chefer et al. 2021, class-specific) for any other
target (rollout does not depend on the class); every other model keeps Grad-CAM. A gradient CAM asked
for at a token layer of such a model is computed, with a warning that says the above.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from torch import nn

from ..layout import LayerInfo, attention_cores, prefix_tokens
from .attention import readout_rows

__all__ = [
    "DEFAULT_METHOD",
    "default_methods",
    "reads_class_token",
    "uses_windowed_attention",
    "warn_gradient_cam_on_class_token",
    "warn_gradient_cam_on_windowed_attention",
]

#: the method of models that are not class-token transformers (and of any explicitly named layer)
DEFAULT_METHOD = "gradcam"

#: CAMs that weigh the layer's features by its gradient (the ones the class-token readout misleads)
_GRADIENT_CAMS = frozenset({"gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "smoothgradcam++"})


def reads_class_token(model: nn.Module) -> bool:
    """Whether ``model`` is a global-attention transformer whose head reads prefix (class/distillation) tokens.

    Global attention: every attention core exposes its probabilities (timm ``attn_drop``) and none is
    windowed (Swin's ``window_size``), so that the attention methods apply. Read from the model, no forward.
    """
    found = prefix_tokens(model)
    if found is None or found[0] == 0 or not readout_rows(model, found[0]):
        return False
    cores = [model.get_submodule(name) if name else model for name in attention_cores(model)]
    if not cores:
        return False
    return all(isinstance(getattr(c, "attn_drop", None), nn.Module) and not hasattr(c, "window_size") for c in cores)


def default_methods(model: nn.Module, layer_named: bool, targets_named: bool) -> tuple[list[str], str]:
    """The methods used when none is named, and why (see the module docstring for the evidence).

    Args:
        model: the network.
        layer_named: the user named a layer (then a CAM at that layer: Grad-CAM).
        targets_named: the user asked for targets other than the predicted class.
    """
    if layer_named or not reads_class_token(model):
        return [DEFAULT_METHOD], "Grad-CAM (the default)"
    if targets_named:
        return ["gradattention"], (
            "gradient-weighted attention: the head reads a class token, where gradient CAMs miss the evidence; "
            "class-specific (rollout is not)"
        )
    return ["rollout"], (
        "attention rollout: the head reads a class token, where gradient CAMs miss the evidence "
        "(results/transformers/ground_truth.md)"
    )


def warn_gradient_cam_on_class_token(model: nn.Module, methods: Sequence[str], infos: Sequence[LayerInfo]) -> None:
    """Warn when a gradient CAM is computed at a token layer of a model whose head reads a class token."""
    asked = [m for m in methods if m in _GRADIENT_CAMS]
    tokens = [i.name for i in infos if i.layout == "tokens"]
    if not asked or not tokens or not reads_class_token(model):
        return
    warnings.warn(
        f"methods: {', '.join(asked)} at the token layer {', '.join(tokens)} of a class-token transformer: the "
        "gradient there follows the class token's attention, which a CAM's channel weighting averages away "
        "(synthetic ground truth: Grad-CAM points at the object in 58-66% of images, attention rollout in 96-97%, "
        "results/transformers/ground_truth.md); consider methods='rollout' or 'gradattention', or 'scorecam'",
        stacklevel=4,
    )


def uses_windowed_attention(model: nn.Module) -> bool:
    """Whether ``model`` attends within windows (Swin: an attention core with ``window_size``)."""
    return any(hasattr(model.get_submodule(name) if name else model, "window_size") for name in attention_cores(model))


def warn_gradient_cam_on_windowed_attention(model: nn.Module, methods: Sequence[str]) -> None:
    """Warn that gradient CAMs on a windowed-attention transformer (Swin) were unreliable on ground truth.

    On the synthetic ground truth (``results/transformers/layer_sweep.md``), no gradient CAM at any layer
    of a Swin pointed at the object in more than 68% of held-out images (Grad-CAM at the automatic layer:
    42%; CAM at the final norm, an exact decomposition of the logit over positions: 25%, so by the last
    stage the model itself has spread the evidence over many tokens); windowed attention has no
    token-to-token matrix for rollout. The map is computed as asked, with this warning.
    """
    asked = [m for m in methods if m in _GRADIENT_CAMS]
    if not asked or not uses_windowed_attention(model):
        return
    warnings.warn(
        f"methods: {', '.join(asked)} on a windowed-attention transformer (Swin): on synthetic ground truth no "
        "gradient CAM at any layer of a Swin pointed at the object in more than 68% of images (Grad-CAM at the "
        "automatic layer 42%): attention spreads the evidence over many tokens by the last stage "
        "(results/transformers/ground_truth.md); read the map as a hint and check it, e.g. against 'scorecam' "
        "or with netloupe evaluate",
        stacklevel=4,
    )
