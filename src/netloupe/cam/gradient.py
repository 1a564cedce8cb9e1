"""Gradient-weighted CAMs: one forward, one backward to the target layer, many maps.

Notation: ``A`` activations ``(N, C, *S)``, ``G = dy_k / dA`` gradients ``(N, K, C, *S)``, sums over
the spatial positions ``ij``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import CAMContext, CAMMethod, WeightedCAM, spatial_dims

__all__ = ["Counterfactual", "GradCAM", "GradCAMPlusPlus", "HiResCAM", "LayerCAM", "XGradCAM"]

_EPS = 1e-7


class GradCAM(WeightedCAM):
    """Grad-CAM (Selvaraju et al. 2017): ``w_c = mean_ij G_cij``, ``M = ReLU(sum_c w_c A_c)``."""

    name = "gradcam"
    paper = "Selvaraju et al., Grad-CAM, ICCV 2017"

    def channel_weights(self, ctx: CAMContext) -> Tensor:
        g = ctx.gradients
        return g.mean(dim=spatial_dims(g, 3))


class Counterfactual(WeightedCAM):
    """Counterfactual Grad-CAM (Selvaraju et al. 2017, Sec. 5): negated gradients, ``w_c = mean_ij -G_cij``.

    Highlights regions whose removal would make the network more confident in the target.
    """

    name = "counterfactual"
    paper = "Selvaraju et al., Grad-CAM, ICCV 2017 (counterfactual explanations)"

    def channel_weights(self, ctx: CAMContext) -> Tensor:
        g = ctx.gradients
        return -g.mean(dim=spatial_dims(g, 3))


def gradcampp_weights(acts: Tensor, g1: Tensor, g2: Tensor, g3: Tensor) -> Tensor:
    """Grad-CAM++ channel weights from the first three derivative powers (Chattopadhyay et al. 2018, Eq. 19).

    ``alpha = g2 / (2 g2 + sum_ab A_ab * g3)``, ``w_c = sum_ij alpha_cij ReLU(g1_cij)``, with
    ``alpha = 0`` where the gradient vanishes. ``g2``/``g3`` are passed separately so that Smooth
    Grad-CAM++ can average each power over noisy samples.
    """
    dims = spatial_dims(g1, 3)
    sum_acts = acts.sum(dim=spatial_dims(acts, 2), keepdim=True).unsqueeze(1)  # (N, 1, C, 1..)
    denom = 2 * g2 + sum_acts * g3
    alpha = torch.where(g1 != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)), torch.zeros_like(g1))
    return (alpha * g1.clamp(min=0)).sum(dim=dims)


class GradCAMPlusPlus(WeightedCAM):
    """Grad-CAM++ (Chattopadhyay et al. 2018): pixel-wise weighting of positive gradients.

    With the exponential-score closed form, ``w_c = sum_ij alpha_cij ReLU(G_cij)`` and
    ``alpha_cij = G^2 / (2 G^2 + sum_ab A_ab G^3)``.
    """

    name = "gradcam++"
    paper = "Chattopadhyay et al., Grad-CAM++, WACV 2018"

    def channel_weights(self, ctx: CAMContext) -> Tensor:
        g = ctx.gradients
        return gradcampp_weights(ctx.activations, g, g.pow(2), g.pow(3))


class XGradCAM(WeightedCAM):
    """XGrad-CAM (Fu et al. 2020): ``w_c = sum_ij (A_cij / sum_ab A_cab) G_cij``."""

    name = "xgradcam"
    paper = "Fu et al., Axiom-based Grad-CAM, BMVC 2020"

    def channel_weights(self, ctx: CAMContext) -> Tensor:
        acts, g = ctx.activations, ctx.gradients
        norm = acts / (acts.sum(dim=spatial_dims(acts, 2), keepdim=True) + _EPS)
        return (norm.unsqueeze(1) * g).sum(dim=spatial_dims(g, 3))


class LayerCAM(CAMMethod):
    """Layer-CAM (Jiang et al. 2021): element-wise ``M = sum_c ReLU(G_c) * A_c``."""

    name = "layercam"
    paper = "Jiang et al., LayerCAM, IEEE TIP 2021"

    def raw_map(self, ctx: CAMContext) -> Tensor:
        return (ctx.gradients.clamp(min=0) * ctx.activations.unsqueeze(1)).sum(dim=2)


class HiResCAM(CAMMethod):
    """HiRes-CAM (Draelos & Carin 2020): element-wise ``M = sum_c G_c * A_c`` (provably faithful)."""

    name = "hirescam"
    paper = "Draelos & Carin, Use HiResCAM instead of Grad-CAM, 2020"

    def raw_map(self, ctx: CAMContext) -> Tensor:
        return (ctx.gradients * ctx.activations.unsqueeze(1)).sum(dim=2)
