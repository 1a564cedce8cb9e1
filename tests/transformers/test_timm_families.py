"""Every common timm family gets a layer with the right layout, and maps of the input's size.

Random weights, the smallest variant of each family, small inputs where the model allows them.
"""

from __future__ import annotations

import pytest
import torch

import netloupe

timm = pytest.importorskip("timm")

#: (model, input size, expected layout, expected layer-name suffix, prefix tokens)
FAMILIES = [
    ("vit_tiny_patch16_224", 64, "tokens", "blocks.11.norm1", 1),
    ("deit_tiny_distilled_patch16_224", 64, "tokens", "blocks.11.norm1", 2),
    ("vit_small_patch14_reg4_dinov2", 56, "tokens", "blocks.11.norm1", 5),
    ("swin_tiny_patch4_window7_224", 64, "channels-last", "layers.3.blocks.1.norm1", 0),
    ("convnext_atto", 64, "channels-first", "stages", 0),
    ("resnet18", 64, "channels-first", "layer4", 0),
    ("efficientnet_b0", 64, "channels-first", "bn2", 0),
    ("regnetx_002", 64, "channels-first", "s4", 0),
    ("mobilenetv3_small_050", 64, "channels-first", "blocks", 0),
]
SLOW = [
    ("maxvit_nano_rw_256", 256, "channels-first", "norm", 0),
    ("efficientformer_l1", 224, "tokens", "stages.3.blocks.4.norm1", 0),  # attention biases fix the size
]


def _check(name: str, size: int, layout: str, layer: str, prefix: int) -> None:
    kwargs: dict[str, int] = {"img_size": size} if name.startswith(("vit_", "deit_")) else {}
    if name.startswith("swin_"):
        kwargs = {"img_size": size, "window_size": 2}  # 16, 8, 4, 2 grids: the smallest Swin that runs
    model = timm.create_model(name, pretrained=False, num_classes=5, **kwargs).eval()
    x = torch.randn(2, 3, size, size)
    res = netloupe.explain(model, x, "gradcam")
    info = res.layer_info[0]
    assert (info.name, info.layout, info.prefix_tokens) == (layer, layout, prefix)
    assert not any(part in info.name.split(".") for part in ("attn", "q_norm", "k_norm", "qkv", "attn_drop"))
    assert res.maps["gradcam"].shape == (2, 1, size, size)
    assert torch.isfinite(res.maps["gradcam"]).all()


@pytest.mark.parametrize(("name", "size", "layout", "layer", "prefix"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_timm_family(name: str, size: int, layout: str, layer: str, prefix: int) -> None:
    _check(name, size, layout, layer, prefix)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "size", "layout", "layer", "prefix"), SLOW, ids=[f[0] for f in SLOW])
def test_timm_family_slow(name: str, size: int, layout: str, layer: str, prefix: int) -> None:
    _check(name, size, layout, layer, prefix)
