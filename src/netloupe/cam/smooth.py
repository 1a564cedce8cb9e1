"""Smooth Grad-CAM++: Grad-CAM++ with derivatives averaged over noisy copies of the input."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import CAMContext, CAMMethod
from .gradient import gradcampp_weights

__all__ = ["SmoothGradCAMPlusPlus"]


class SmoothGradCAMPlusPlus(CAMMethod):
    """Smooth Grad-CAM++ (Omeiza et al. 2019): SmoothGrad noise (Smilkov et al. 2017) inside Grad-CAM++.

    The first, second and third derivative powers and the activations are averaged over
    ``n_samples`` copies ``x + N(0, sigma^2)``, ``sigma = noise_level * (max(x) - min(x))`` per sample,
    then combined as in Grad-CAM++. All noisy copies run as one batch through the shared pass.
    """

    name = "smoothgradcam++"
    paper = "Omeiza et al., Smooth Grad-CAM++, 2019"

    def __init__(self, n_samples: int = 8, noise_level: float = 0.15, seed: int | None = 0) -> None:
        if n_samples < 1:
            raise ValueError(f"n_samples: must be >= 1, got {n_samples}")
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.seed = seed

    def raw_map(self, ctx: CAMContext) -> Tensor:
        x = ctx.inputs
        n, m = x.shape[0], self.n_samples
        flat = x.reshape(n, -1)
        sigma = (self.noise_level * (flat.amax(1) - flat.amin(1))).reshape(n, *([1] * (x.ndim - 1)))
        gen = torch.Generator(device=x.device)
        if self.seed is not None:
            gen.manual_seed(self.seed)
        noise = torch.randn((m, *x.shape), generator=gen, device=x.device, dtype=x.dtype)
        noisy = (x.unsqueeze(0) + noise * sigma.unsqueeze(0)).flatten(0, 1)  # (m*N, ...), sample-major
        rows = torch.arange(n, device=x.device).repeat(m)
        layer = ctx.recapture(noisy, rows)
        if layer.gradients is None:
            raise RuntimeError("smoothgradcam++: the noisy pass returned no gradients")
        g = layer.gradients.unflatten(0, (m, n))
        acts = layer.activations.unflatten(0, (m, n)).mean(0)  # the map is drawn on the mean activations
        weights = gradcampp_weights(acts, g.mean(0), g.pow(2).mean(0), g.pow(3).mean(0))
        return torch.einsum("nkc,nc...->nk...", weights, acts)
