"""Where each word came from, two ways, scored against known boxes with the pointing game.

* Decoder attention: alpha_t (Xu et al., 2015) over the h x w cells of the encoder map.
* Grad-CAM (Selvaraju et al., 2017, Sec. 8 for captioning): for the target y_t = log p(w_t | w_<t, I),
  weights w_k = mean_ij dy_t / dA_kij and map ReLU(sum_k w_k A_k) on the frozen encoder's last map A.
  The encoder is frozen and A is its ``forward_features`` output (``bn2``), so Grad-CAM is computed from
  the cached map A directly (the same numbers as hooking ``encoder.bn2``; a test checks this against
  :func:`netloupe.explain`).

Both maps are upsampled bilinearly to the image size and scaled to [0, 1]. Pointing game (Zhang et al.,
2016): a word's map "hits" when its maximum lies inside the word's box grown by ``tolerance`` pixels
(15 in the paper).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError
from .attention import AttentionDecoder

__all__ = ["attention_maps", "feature_gradcam", "pointing_hit", "upsample_maps"]

Box = tuple[int, int, int, int]


def upsample_maps(maps: Tensor, size: int) -> Tensor:
    """(T, h, w) cell maps -> (T, size, size), bilinear, each scaled to [0, 1] (an all-zero map stays 0)."""
    up = F.interpolate(maps[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    lo = up.flatten(1).min(1).values[:, None, None]
    hi = up.flatten(1).max(1).values[:, None, None]
    return torch.where(hi > lo, (up - lo) / (hi - lo).clamp(min=1e-12), torch.zeros_like(up))


def _prefix(ids: Sequence[int], bos: int) -> Tensor:
    return torch.tensor([[bos, *ids[:-1]]], dtype=torch.long)


@torch.no_grad()
def attention_maps(decoder: AttentionDecoder, feats: Tensor, ids: Sequence[int], bos: int) -> Tensor:
    """alpha_t reshaped to the map's (h, w) for every word of ``ids`` given the true prefix: (T, h, w)."""
    if feats.ndim != 4 or feats.shape[0] != 1:
        raise InputError(f"feats: expected one encoder map (1, D, h, w), got {tuple(feats.shape)}")
    decoder.eval()
    _, alphas = decoder.forward_attention(feats, _prefix(ids, bos))
    return alphas[0].reshape(len(ids), *feats.shape[2:])


def feature_gradcam(decoder: AttentionDecoder, feats: Tensor, ids: Sequence[int], bos: int) -> Tensor:
    """Grad-CAM on the encoder map for every word of ``ids`` given the true prefix: (T, h, w), not upsampled."""
    if feats.ndim != 4 or feats.shape[0] != 1:
        raise InputError(f"feats: expected one encoder map (1, D, h, w), got {tuple(feats.shape)}")
    decoder.eval()
    t = len(ids)
    a = feats.float().expand(t, -1, -1, -1).clone().requires_grad_(True)
    logp = decoder(a, _prefix(ids, bos).expand(t, -1))  # row i scores word i
    rows = torch.arange(t)
    target = logp[rows, rows, torch.tensor(list(ids))].sum()
    (grad,) = torch.autograd.grad(target, a)
    weights = grad.mean((2, 3), keepdim=True)
    return torch.relu((weights * a.detach()).sum(1))


def pointing_hit(saliency: Tensor, box: Box, tolerance: int = 15) -> bool:
    """True when the maximum of ``saliency`` (H, W) lies within ``box`` (x0, y0, x1, y1) grown by ``tolerance``."""
    if saliency.ndim != 2:
        raise InputError(f"saliency: expected one (H, W) map, got {tuple(saliency.shape)}")
    flat = int(saliency.argmax())
    y, x = divmod(flat, saliency.shape[1])
    x0, y0, x1, y1 = box
    return x0 - tolerance <= x < x1 + tolerance and y0 - tolerance <= y < y1 + tolerance
