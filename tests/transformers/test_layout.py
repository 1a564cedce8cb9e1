"""Layout-aware layer choice: channels-first, channels-last, tokens with prefix tokens, non-square grids."""

from __future__ import annotations

import warnings

import pytest
import torch
from timm.models.deit import VisionTransformerDistilled
from timm.models.swin_transformer import SwinTransformer
from timm.models.vision_transformer import VisionTransformer
from torch import nn

import netloupe
from netloupe.errors import InputError
from netloupe.layers import choose_layer, describe_layer, plan_layers, token_grid_reshape
from netloupe.layout import infer_layout, prefix_tokens


def _vit(**kw: object) -> nn.Module:
    args: dict[str, object] = {"img_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 2, "num_heads": 2}
    args.update(kw)
    return VisionTransformer(num_classes=3, **args).eval()  # type: ignore[arg-type]


def test_infer_layout_reads_the_shape_against_the_input() -> None:
    assert infer_layout((1, 64, 7, 7), nn.Conv2d(1, 1, 1), (224, 224)).layout == "channels-first"  # type: ignore[union-attr]
    cl = infer_layout((1, 7, 7, 768), nn.LayerNorm(768), (224, 224))
    assert cl is not None and (cl.layout, cl.grid) == ("channels-last", (7, 7))
    # ambiguous shape: a plain LayerNorm acts on the last axis -> channels-last; a conv -> channels-first
    assert infer_layout((1, 8, 8, 8), nn.LayerNorm(8), (32, 32)).layout == "channels-last"  # type: ignore[union-attr]
    assert infer_layout((1, 8, 8, 8), nn.Conv2d(8, 8, 1), (32, 32)).layout == "channels-first"  # type: ignore[union-attr]
    tok = infer_layout((1, 2 + 14 * 20, 192), None, (224, 320), prefix_tokens=2)
    assert tok is not None and (tok.layout, tok.grid, tok.prefix_tokens) == ("tokens", (14, 20), 2)
    # attention keys (N, heads, tokens, head_dim) are no feature map of a 224x224 input
    assert infer_layout((1, 3, 197, 64), nn.Identity(), (224, 224)) is None
    assert infer_layout((1, 197, 64), None, (224, 224), prefix_tokens=0) is None  # 197 patches: no 224x224 grid


def test_prefix_tokens_are_read_from_the_model() -> None:
    assert prefix_tokens(_vit(reg_tokens=4))[0] == 5  # type: ignore[index]
    deit = VisionTransformerDistilled(img_size=32, patch_size=8, embed_dim=16, depth=1, num_heads=2, num_classes=3)
    assert prefix_tokens(deit)[0] == 2  # type: ignore[index]

    class HFLike(nn.Module):  # Hugging Face spelling: parameters, no attribute
        def __init__(self) -> None:
            super().__init__()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
            self.register_tokens = nn.Parameter(torch.zeros(1, 3, 4))

    assert prefix_tokens(HFLike()) == (4, "cls_token + register_tokens")
    assert prefix_tokens(nn.Conv2d(1, 1, 1)) is None


@pytest.mark.parametrize("reg", [0, 4])
def test_vit_automatic_choice_is_last_norm1_and_never_attention(reg: int) -> None:
    model = _vit(reg_tokens=reg, qk_norm=True)
    info = choose_layer(model, torch.randn(1, 3, 32, 32))
    assert (info.name, info.layout, info.grid, info.prefix_tokens) == ("blocks.1.norm1", "tokens", (4, 4), 1 + reg)
    assert "attn" not in info.name


def test_tokens_reshape_drops_every_prefix_token_hand_computed() -> None:
    torch.manual_seed(0)
    model = _vit(reg_tokens=2)
    x = torch.randn(2, 3, 32, 32)
    ours = netloupe.explain(model, x, "gradcam", 1, "blocks.1.norm1", upsample=False, normalize=False, relu=False)
    # Hand: tokens (N, 3 + 16, C), drop the class + 2 register tokens, row-major 4x4 grid.
    hand = netloupe.explain(
        model, x, "gradcam", 1, "blocks.1.norm1", reshape=lambda t: token_grid_reshape(t, prefix_tokens=3),
        upsample=False, normalize=False, relu=False,
    )  # fmt: skip
    torch.testing.assert_close(ours.maps["gradcam"], hand.maps["gradcam"])
    assert ours.layer_info[0].layout == "tokens" and ours.layer_info[0].prefix_tokens == 3
    named = netloupe.explain(model, x, "gradcam", 1, "blocks.1.norm1", reshape="tokens", upsample=False)
    assert named.maps["gradcam"].shape == (2, 1, 4, 4)


def test_non_square_token_grid() -> None:
    model = _vit(img_size=(32, 48))
    x = torch.randn(1, 3, 32, 48)
    res = netloupe.explain(model, x, "gradcam", 0, upsample=False, normalize=False, relu=False)
    assert res.layer_info[0].grid == (4, 6)
    hand = netloupe.explain(
        model, x, "gradcam", 0, "blocks.1.norm1", upsample=False, normalize=False, relu=False,
        reshape=lambda t: t[:, 1:].transpose(1, 2).reshape(1, 16, 4, 6),
    )  # fmt: skip
    torch.testing.assert_close(res.maps["gradcam"], hand.maps["gradcam"])


def test_swin_channels_last_norm_is_permuted_not_misread() -> None:
    torch.manual_seed(0)
    model = SwinTransformer(
        img_size=32, patch_size=2, window_size=4, embed_dim=8, depths=(1, 1), num_heads=(1, 2), num_classes=3
    ).eval()
    x = torch.randn(2, 3, 32, 32)
    res = netloupe.explain(model, x, "gradcam", 2, "norm", upsample=False, normalize=False, relu=False)
    hand = netloupe.explain(
        model, x, "gradcam", 2, "norm", reshape=lambda t: t.permute(0, 3, 1, 2), upsample=False, normalize=False,
        relu=False,
    )  # fmt: skip
    assert res.maps["gradcam"].shape == (2, 1, 8, 8)
    torch.testing.assert_close(res.maps["gradcam"], hand.maps["gradcam"])
    assert res.layer_info[0].layout == "channels-last"
    auto = describe_layer(model, x)
    assert (auto.name, auto.layout) == ("layers.1.blocks.0.norm1", "channels-last")
    by_name = netloupe.explain(model, x, "gradcam", 2, "norm", reshape="channels-last", upsample=False)
    assert by_name.layer_info[0].layout == "channels-last"


def test_cnn_choice_unchanged_and_reshape_none() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    plan = plan_layers(model, None, torch.randn(1, 3, 8, 8))
    assert plan.reshape is None and plan.layers[0][0] == "1"
    assert plan.fixed is not None and plan.fixed[0].layout == "channels-first"


def test_bad_layout_names_and_non_maps_are_refused() -> None:
    model = _vit()
    x = torch.randn(1, 3, 32, 32)
    with pytest.raises(InputError, match="reshape: expected one of auto"):
        netloupe.explain(model, x, "gradcam", 0, "blocks.1.norm1", reshape="nhwcx")
    with pytest.raises(InputError, match="not a channels-last feature map"):
        netloupe.explain(model, x, "gradcam", 0, "blocks.1.norm1", reshape="channels-last")
    with pytest.warns(UserWarning, match="does not look like a feature map"):
        netloupe.explain(_vit(qk_norm=True), x, "gradcam", 0, "blocks.1.attn.k_norm")


def test_convnext_block_internals_are_channels_last_and_stages_channels_first() -> None:
    import timm

    model = timm.create_model("convnext_atto", pretrained=False, conv_mlp=False, num_classes=3).eval()
    x = torch.randn(1, 3, 64, 64)
    assert describe_layer(model, x, "stages.3.blocks.1.norm").layout == "channels-last"  # nn.LayerNorm on NHWC
    assert describe_layer(model, x, "stages.3.blocks.1.mlp.fc2").layout == "channels-last"
    assert describe_layer(model, x, "stages.3").layout == "channels-first"
    by_hand = netloupe.explain(
        model, x, "gradcam", 1, "stages.3.blocks.1.norm", reshape=lambda t: t.permute(0, 3, 1, 2), upsample=False,
        normalize=False, relu=False,
    )  # fmt: skip
    raw = {"upsample": False, "normalize": False, "relu": False}
    auto = netloupe.explain(model, x, "gradcam", 1, "stages.3.blocks.1.norm", **raw)  # type: ignore[arg-type]
    torch.testing.assert_close(auto.maps["gradcam"], by_hand.maps["gradcam"])


def test_volumes_pooled_per_axis_are_channels_first_without_a_warning() -> None:
    """A video/CT network keeps its time (slice) axis while pooling space: still a (N, C, T, H, W) grid."""
    info = infer_layout((2, 32, 16, 8, 8), None, (16, 32, 32))
    assert info is not None and (info.layout, info.grid) == ("channels-first", (16, 8, 8))
    assert infer_layout((2, 32, 17, 8, 8), None, (16, 32, 32)) is None  # larger than the input: not a grid
    net = torch.nn.Sequential(
        torch.nn.Conv3d(1, 4, 3, padding=1),
        torch.nn.MaxPool3d((1, 4, 4)),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool3d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = netloupe.explain(net, torch.randn(2, 1, 16, 32, 32), "gradcam", layer="2")
    assert res.maps["gradcam"].shape == (2, 1, 16, 32, 32)
