"""Transformer-native explanations: attention rollout and gradient-weighted attention rollout.

Both read the attention probabilities ``A_l`` (N, heads, T, T) of every block in one batched pass
(timm attention modules are switched to their explicit, non-fused path for that pass, and their
``attn_drop`` input, the softmax output, is recorded) and propagate them through the residual
connections:

- rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers", ACL): with
  ``Â_l = 0.5 mean_h(A_l) + 0.5 I`` (rows renormalised), ``R = Â_L ... Â_1``; class-agnostic;
- gradient-weighted attention (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability for
  Interpreting Bi-Modal and Encoder-Decoder Transformers", ICCV, Eq. 5-6): ``Ā_l = mean_h((∇A_l ⊙ A_l)^+)``,
  ``R <- R + Ā_l R`` from ``R = I``; one backward per target, no graph kept between targets.

The map is the row of ``R`` of the token the head reads, over the patch tokens (prefix tokens read from
the model), laid on the patch grid: the class token's; the mean of the class and distillation tokens'
rows for distilled models whose output averages the two heads (DeiT, Touvron et al. 2021); the mean row
of the patch tokens for models that pool the patch tokens (no class token, or timm ``global_pool="avg"``).
Register tokens (Darcet et al. 2024) are never read by the head and never give the row. Global-attention models
only: windowed attention (Swin) has no token-to-token matrix over the image and is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import torch
from torch import Tensor, nn

from ..errors import MethodNotApplicable
from ..layout import attention_cores, prefix_tokens, token_grid
from .base import CAMContext, CAMMethod

__all__ = ["AttentionRollout", "GradientWeightedAttention", "attention_maps", "readout_rows"]


@contextmanager
def _explicit_attention(model: nn.Module, record: list[Tensor]) -> Iterator[None]:
    """Record every attention core's probabilities (timm: the input of ``attn_drop``)."""
    handles, fused = [], []
    for name in sorted(attention_cores(model)):
        core = model.get_submodule(name) if name else model
        drop = getattr(core, "attn_drop", None)
        if not isinstance(drop, nn.Module):
            continue
        if getattr(core, "fused_attn", False):
            fused.append(core)
            core.fused_attn = False  # type: ignore[assignment]
        handles.append(drop.register_forward_hook(lambda _m, inp, _o: record.append(inp[0])))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        for core in fused:
            core.fused_attn = True  # type: ignore[assignment]


def attention_maps(model: nn.Module, inputs: Tensor, grad: bool) -> tuple[Tensor, list[Tensor]]:
    """One pass: the outputs and every block's attention probabilities ``(N, heads, T, T)``, in order."""
    record: list[Tensor] = []
    with _explicit_attention(model, record), torch.set_grad_enabled(grad):
        out = model(inputs)
    if isinstance(out, (tuple, list)):
        out = out[0]
    n = inputs.shape[0]
    attns = [a for a in record if a.ndim == 4 and a.shape[0] == n and a.shape[-1] == a.shape[-2]]
    if not attns or len(attns) != len(record):
        raise MethodNotApplicable(
            "attention methods need global self-attention with explicit probabilities (timm ViT/DeiT/DINOv2/EVA "
            f"style); found {len(record)} attention modules of which {len(attns)} attend over the whole "
            "sequence (windowed attention such as Swin has no token-to-token matrix over the image)"
        )
    return out, attns


def readout_rows(model: nn.Module, prefix: int) -> tuple[int, ...]:
    """The token positions whose outputs the head reads; () for the mean of the patch tokens.

    timm ViTs say it (``global_pool``, ``has_class_token``, a distillation token with ``head_dist``);
    Hugging Face distilled DeiT has a ``distillation_classifier``. Otherwise: the class token (position
    0) when there are prefix tokens, the patch tokens' mean when there are none.
    """
    if prefix == 0:
        return ()
    for module in model.modules():
        pool = getattr(module, "global_pool", None)
        if isinstance(pool, str) and hasattr(module, "has_class_token"):  # timm VisionTransformer family
            if pool != "token" or not module.has_class_token:
                return ()
            distilled = getattr(module, "dist_token", None) is not None and hasattr(module, "head_dist")
            return (0, 1) if distilled else (0,)
        if hasattr(module, "distillation_classifier"):  # Hugging Face DeiTForImageClassificationWithTeacher
            return (0, 1)
    return (0,)


def _to_map(ctx: CAMContext, rel: Tensor) -> Tensor:
    """``rel`` (N, K, T, T) relevance -> (N, K, h, w) map of the head's readout row(s), over the patch tokens."""
    found = prefix_tokens(ctx.model)
    p = found[0] if found else 0
    t = rel.shape[-1]
    size = tuple(int(s) for s in ctx.inputs.shape[2:])
    grid = token_grid(t - p, (size[0], size[1])) if len(size) == 2 else None
    if grid is None:
        raise MethodNotApplicable(f"attention methods: {t} tokens minus {p} prefix tokens form no grid of {size}")
    rows = readout_rows(ctx.model, p)
    row = rel[:, :, list(rows), p:].mean(2) if rows else rel[:, :, p:, p:].mean(2)
    return row.reshape(*row.shape[:2], *grid)


class AttentionRollout(CAMMethod):
    """Attention rollout (Abnar & Zuidema 2020, ACL): the product of residual-mixed attention matrices."""

    name = "rollout"
    paper = "Abnar & Zuidema, Quantifying Attention Flow in Transformers, ACL 2020"
    needs_gradients = False
    class_specific = False
    family: ClassVar[str] = "attention"

    def raw_map(self, ctx: CAMContext) -> Tensor:
        with torch.no_grad():
            _, attns = attention_maps(ctx.model, ctx.inputs, grad=False)
            t = attns[0].shape[-1]
            eye = torch.eye(t, device=attns[0].device, dtype=torch.float32)
            rel = eye.expand(attns[0].shape[0], t, t)
            for a in attns:
                mixed = 0.5 * a.float().mean(1) + 0.5 * eye
                mixed = mixed / mixed.sum(-1, keepdim=True)
                rel = mixed @ rel
        return _to_map(ctx, rel[:, None].expand(-1, ctx.targets.k, -1, -1))


class GradientWeightedAttention(CAMMethod):
    """Gradient-weighted attention rollout (Chefer, Gur & Wolf 2021, ICCV, Eq. 5-6)."""

    name = "gradattention"
    paper = "Chefer, Gur & Wolf, Generic Attention-model Explainability for Interpreting Transformers, ICCV 2021"
    needs_gradients = False
    family: ClassVar[str] = "attention"

    def raw_map(self, ctx: CAMContext) -> Tensor:
        outputs, attns = attention_maps(ctx.model, ctx.inputs, grad=True)
        scores = ctx.targets.scores(outputs)  # (N, K)
        n, k = scores.shape
        t = attns[0].shape[-1]
        eye = torch.eye(t, device=attns[0].device, dtype=torch.float32)
        rels = []
        for j in range(k):
            grads = torch.autograd.grad(scores[:, j].sum(), attns, retain_graph=j < k - 1)
            rel = eye.expand(n, t, t)
            for a, g in zip(attns, grads, strict=True):
                weighted = (g.float() * a.detach().float()).clamp(min=0).mean(1)
                rel = rel + weighted @ rel
            rels.append(rel)
        return _to_map(ctx, torch.stack(rels, dim=1))
