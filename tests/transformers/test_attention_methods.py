"""Attention rollout and gradient-weighted attention: hand-computed on a 1-block ViT, batched, registered."""

from __future__ import annotations

import pytest
import torch
from timm.models.swin_transformer import SwinTransformer
from timm.models.vision_transformer import VisionTransformer

import netloupe
from netloupe.cam.registry import get_method
from netloupe.errors import MethodNotApplicable


def _one_block() -> VisionTransformer:
    torch.manual_seed(3)
    return VisionTransformer(img_size=16, patch_size=8, embed_dim=8, depth=1, num_heads=2, num_classes=3).eval()


def _hand_attention(model: VisionTransformer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tokens entering the block, the attention probabilities (N, heads, T, T) and the values, by hand."""
    with torch.no_grad():
        x0 = model.norm_pre(model._pos_embed(model.patch_embed(x)))
    block = model.blocks[0]
    h = block.norm1(x0)
    n, t, c = h.shape
    qkv = (h @ block.attn.qkv.weight.T + block.attn.qkv.bias).reshape(n, t, 3, 2, c // 2).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = torch.softmax(q @ k.transpose(-2, -1) * (c // 2) ** -0.5, dim=-1)
    return x0, attn, v


def _rest_of_block(model: VisionTransformer, x0: torch.Tensor, attn: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    block = model.blocks[0]
    mixed = (attn @ v).transpose(1, 2).reshape(x0.shape)
    x1 = x0 + block.attn.proj(mixed)
    x2 = x1 + block.mlp(block.norm2(x1))
    return model.head(model.norm(x2)[:, 0])


def test_rollout_one_block_hand_computed() -> None:
    model = _one_block()
    x = torch.randn(3, 3, 16, 16)
    _, attn, _ = _hand_attention(model, x)
    # R = 0.5 mean_h(A) + 0.5 I (rows already sum to 1); class-token row over the 4 patch tokens
    expected = (0.5 * attn.mean(1))[:, 0, 1:].reshape(3, 2, 2)
    res = netloupe.explain(model, x, "rollout", upsample=False, normalize=False, relu=False)
    torch.testing.assert_close(res.maps["rollout"][:, 0], expected.detach())


def test_gradient_weighted_attention_one_block_hand_computed() -> None:
    model = _one_block()
    x = torch.randn(3, 3, 16, 16)
    x0, attn, v = _hand_attention(model, x)
    attn = attn.detach().requires_grad_(True)
    classes = [2, 0, 1]
    y = _rest_of_block(model, x0, attn, v.detach())
    (grad,) = torch.autograd.grad(y[torch.arange(3), classes].sum(), attn)
    # R = I + mean_h((dy/dA * A)^+) I: the class row over the patch tokens is the weighted attention itself
    expected = (grad * attn).clamp(min=0).mean(1)[:, 0, 1:].reshape(3, 2, 2)
    res = netloupe.explain(model, x, "gradattention", classes, upsample=False, normalize=False, relu=False)
    torch.testing.assert_close(res.maps["gradattention"][:, 0], expected.detach())


def test_batched_equals_one_by_one_and_top_k() -> None:
    model = _one_block()
    x = torch.randn(4, 3, 16, 16)
    both = netloupe.explain(model, x, ["rollout", "gradattention"], netloupe.TopK(2), upsample=False)
    for i in range(4):
        one = netloupe.explain(model, x[i : i + 1], ["rollout", "gradattention"], netloupe.TopK(2), upsample=False)
        for name in ("rollout", "gradattention"):
            torch.testing.assert_close(both.maps[name][i], one.maps[name][0])
    assert model.blocks[0].attn.fused_attn == type(model.blocks[0].attn)(8).fused_attn  # restored after the pass


def test_registered_and_windowed_attention_refused() -> None:
    assert get_method("attention-rollout").name == "rollout" and get_method("chefer").name == "gradattention"
    assert netloupe.available_methods("attention") == ["rollout", "gradattention"]
    assert "rollout" not in netloupe.available_methods() and "rollout" in netloupe.available_methods("all")
    swin = SwinTransformer(
        img_size=32, patch_size=2, window_size=4, embed_dim=8, depths=(1, 1), num_heads=(1, 2), num_classes=3
    ).eval()
    with pytest.raises(MethodNotApplicable, match="windowed attention"):
        netloupe.explain(swin, torch.randn(1, 3, 32, 32), "rollout")


@pytest.mark.parametrize(
    ("kind", "rows", "prefix"),
    [("distilled", [0, 1], 2), ("registers+avg", [2, 3, 4, 5], 2), ("registers+cls", [0], 3)],
)
def test_rollout_reads_the_rows_the_head_reads(kind: str, rows: list[int], prefix: int) -> None:
    """DeiT averages its class and distillation heads: both rows; avg-pooled ViT: the patch rows; never registers."""
    from timm.models.deit import VisionTransformerDistilled

    torch.manual_seed(5)
    common = {"img_size": 16, "patch_size": 8, "embed_dim": 8, "depth": 1, "num_heads": 2, "num_classes": 3}
    if kind == "distilled":
        model: VisionTransformer = VisionTransformerDistilled(**common).eval()
    elif kind == "registers+avg":
        model = VisionTransformer(**common, class_token=False, reg_tokens=2, global_pool="avg").eval()
    else:
        model = VisionTransformer(**common, reg_tokens=2).eval()
    assert model.num_prefix_tokens == prefix
    x = torch.randn(2, 3, 16, 16)
    _, attn, _ = _hand_attention(model, x)
    t = attn.shape[-1]
    rel = 0.5 * attn.mean(1) + 0.5 * torch.eye(t)
    expected = rel[:, rows, prefix:].mean(1).reshape(2, 2, 2)
    res = netloupe.explain(model, x, "rollout", upsample=False, normalize=False, relu=False)
    torch.testing.assert_close(res.maps["rollout"][:, 0], expected.detach())
