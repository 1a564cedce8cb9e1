"""Hugging Face `transformers` image classifiers built from configs (no download): layer and layout.

These models return a ``ModelOutput``; the engine explains its ``logits`` (``output=`` picks another
key). ``test_hf_vit_tokens_match_the_hand_reshape`` goes through :class:`Logits`, a thin wrapper
returning ``model(x).logits``, and the bare model must give the same maps.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netloupe
from netloupe.layers import token_grid_reshape

transformers = pytest.importorskip("transformers")


class Logits(nn.Module):
    """``model(x).logits``: a tensor-output view of a Hugging Face classifier."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).logits


def _build(kind: str) -> nn.Module:
    torch.manual_seed(0)
    small = {"num_labels": 3, "num_channels": 3}
    vit_like = {
        "image_size": 32, "patch_size": 8, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 32,
    }  # fmt: skip
    if kind == "vit":
        return transformers.ViTForImageClassification(transformers.ViTConfig(**vit_like, **small))
    if kind == "dinov2":
        return transformers.Dinov2ForImageClassification(transformers.Dinov2Config(**vit_like, **small))
    if kind == "swin":
        cfg = transformers.SwinConfig(
            image_size=32, patch_size=2, embed_dim=8, depths=[1, 1], num_heads=[1, 2], window_size=4, **small
        )
        return transformers.SwinForImageClassification(cfg)
    if kind == "convnext":
        cfg = transformers.ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, **small)
        return transformers.ConvNextForImageClassification(cfg)
    raise ValueError(kind)


CASES = [
    ("vit", "vit.layers.1.layernorm_before", "tokens", (4, 4), 1),
    ("dinov2", "dinov2.encoder.layer.1.norm1", "tokens", (4, 4), 1),
    ("swin", "swin.encoder.layers.1.blocks.0.layernorm_before", "tokens", (8, 8), 0),
    ("convnext", "convnext.encoder.stages.1", "channels-first", (4, 4), 0),
]


@pytest.mark.parametrize(("kind", "layer", "layout", "grid", "prefix"), CASES, ids=[c[0] for c in CASES])
def test_hf_classifier(kind: str, layer: str, layout: str, grid: tuple[int, int], prefix: int) -> None:
    model = _build(kind).eval()  # the bare ModelOutput classifier
    x = torch.randn(2, 3, 32, 32)
    res = netloupe.explain(model, x, "gradcam", netloupe.TopK(2))
    info = res.layer_info[0]
    assert (info.name, info.layout, info.grid, info.prefix_tokens) == (layer, layout, grid, prefix)
    assert res.maps["gradcam"].shape == (2, 2, 32, 32) and torch.isfinite(res.maps["gradcam"]).all()


def test_hf_vit_tokens_match_the_hand_reshape() -> None:
    model = Logits(_build("vit")).eval()
    x = torch.randn(2, 3, 32, 32)
    layer = "model.vit.layers.1.layernorm_before"
    ours = netloupe.explain(model, x, "gradcam", 1, layer, upsample=False, normalize=False, relu=False)
    hand = netloupe.explain(
        model, x, "gradcam", 1, layer, reshape=token_grid_reshape, upsample=False, normalize=False, relu=False
    )
    torch.testing.assert_close(ours.maps["gradcam"], hand.maps["gradcam"])
    bare = netloupe.explain(model.model, x, "gradcam", 1, layer.removeprefix("model."), upsample=False, normalize=False,
                            relu=False)  # fmt: skip
    torch.testing.assert_close(bare.maps["gradcam"], ours.maps["gradcam"])
