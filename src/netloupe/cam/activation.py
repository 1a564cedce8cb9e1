"""Gradient-free CAMs computed from the activations alone (plus the linear head for CAM)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import MethodNotApplicable
from .base import CAMContext, CAMMethod, WeightedCAM, spatial_dims

__all__ = ["CAM", "EigenCAM"]


class CAM(WeightedCAM):
    """CAM (Zhou et al. 2016): ``M_k = sum_c W_kc A_c`` with ``W`` the final linear layer.

    Only defined for networks whose head is global average pooling followed by one linear layer,
    ``y = W GAP(A) + b``. The engine checks that structure *functionally* on the shared pass: the
    last linear layer's input must equal the spatial mean of the target layer's activations and its
    output must be the model's output. Anything else raises :class:`MethodNotApplicable` — the very
    limitation that motivated Grad-CAM.
    """

    name = "cam"
    paper = "Zhou et al., Learning Deep Features for Discriminative Localization, CVPR 2016"
    needs_gradients = False
    needs_head = True

    def channel_weights(self, ctx: CAMContext) -> Tensor:
        cap, acts = ctx.capture, ctx.activations
        head, head_in = cap.head, cap.head_input
        hint = "; CAM needs global average pooling + one linear layer after the target layer: use 'gradcam'"
        if head is None or head_in is None or cap.head_output is None:
            raise MethodNotApplicable(f"method 'cam': the model has no linear head{hint}")
        pooled = acts.mean(dim=spatial_dims(acts, 2))
        if head_in.reshape(pooled.shape[0], -1).shape != pooled.shape:
            raise MethodNotApplicable(
                f"method 'cam': the head's input has {head_in[0].numel()} features but layer "
                f"{ctx.layer.name!r} has {pooled.shape[1]} channels{hint}"
            )
        same_input = torch.allclose(head_in.reshape(pooled.shape), pooled, rtol=1e-3, atol=1e-4)
        same_output = cap.head_output.reshape(cap.outputs.shape).shape == cap.outputs.shape and torch.allclose(
            cap.head_output.reshape(cap.outputs.shape), cap.outputs, rtol=1e-3, atol=1e-4
        )
        if not (same_input and same_output):
            raise MethodNotApplicable(
                f"method 'cam': the output is not a linear function of the global average of layer "
                f"{ctx.layer.name!r}{hint}"
            )
        if ctx.targets.class_ids is None:
            raise MethodNotApplicable("method 'cam': needs class targets (indices or TopK), not score callables")
        weight = head.weight.detach()
        ids = ctx.targets.class_ids
        if weight.shape[0] == 1:  # single sigmoid logit: class 1 -> +w, class 0 -> -w
            sign = torch.where(ids == 1, 1.0, -1.0).to(weight.dtype)
            return sign.unsqueeze(-1) * weight[0]
        return weight[ids]


class EigenCAM(CAMMethod):
    """Eigen-CAM (Muhammad & Yeasin 2020): projection of the activations on their first principal component.

    The activations of each sample, a ``(positions, C)`` matrix, are centred per channel and
    decomposed by SVD; the map is the centred matrix projected on the first right-singular vector
    (the first principal component). SVD leaves the sign arbitrary: netloupe fixes it so that the map
    correlates positively with the channel sum of the activations. Class-agnostic.
    """

    name = "eigencam"
    paper = "Muhammad & Yeasin, Eigen-CAM, IJCNN 2020"
    needs_gradients = False
    class_specific = False

    def raw_map(self, ctx: CAMContext) -> Tensor:
        acts = ctx.activations.float()
        n, c = acts.shape[:2]
        flat = acts.reshape(n, c, -1).transpose(1, 2)  # (N, P, C)
        centred = flat - flat.mean(dim=1, keepdim=True)
        _, _, vh = torch.linalg.svd(centred, full_matrices=False)
        proj = torch.einsum("npc,nc->np", centred, vh[:, 0])
        total = flat.sum(dim=2)
        corr = ((proj - proj.mean(1, keepdim=True)) * (total - total.mean(1, keepdim=True))).sum(1)
        proj = proj * torch.where(corr < 0, -1.0, 1.0).unsqueeze(1)
        k = ctx.targets.k
        return proj.reshape(n, 1, *acts.shape[2:]).expand(n, k, *acts.shape[2:]).to(ctx.activations.dtype)
