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

    Each sample's noise is drawn from a generator seeded with ``seed`` for that sample alone, so a map
    depends on the seed and the sample only, never on its neighbours in the batch (the same image gives
    the same map at any batch size). ``seed=None`` draws a fresh seed per call.
    """

    name = "smoothgradcam++"
    paper = "Omeiza et al., Smooth Grad-CAM++, 2019"

    def __init__(self, n_samples: int = 8, noise_level: float = 0.15, seed: int | None = 0) -> None:
        if n_samples < 1:
            raise ValueError(f"n_samples: must be >= 1, got {n_samples}")
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.seed = seed

    def extra_passes(self, ctx: CAMContext) -> int:
        return 1  # all noisy copies in one pass

    def noise(self, x: Tensor) -> Tensor:
        """``(n_samples, N, *x.shape[1:])`` standard normal noise, the same for a sample at any batch size."""
        seed = self.seed if self.seed is not None else int(torch.randint(0, 2**62, ()).item())
        gen = torch.Generator(device=x.device)
        per_sample = []
        for _ in range(x.shape[0]):
            gen.manual_seed(seed)
            per_sample.append(
                torch.randn((self.n_samples, *x.shape[1:]), generator=gen, device=x.device, dtype=x.dtype)
            )
        return torch.stack(per_sample, dim=1)

    def raw_map(self, ctx: CAMContext) -> Tensor:
        x = ctx.inputs
        n, m = x.shape[0], self.n_samples
        flat = x.reshape(n, -1)
        sigma = (self.noise_level * (flat.amax(1) - flat.amin(1))).reshape(n, *([1] * (x.ndim - 1)))
        noisy = (x.unsqueeze(0) + self.noise(x) * sigma.unsqueeze(0)).flatten(0, 1)  # (m*N, ...), sample-major
        rows = torch.arange(n, device=x.device).repeat(m)
        layer = ctx.recapture(noisy, rows)
        ctx.passes.step()
        if layer.gradients is None:
            raise RuntimeError("smoothgradcam++: the noisy pass returned no gradients")
        g = layer.gradients.unflatten(0, (m, n))
        acts = layer.activations.unflatten(0, (m, n)).mean(0)  # the map is drawn on the mean activations
        weights = gradcampp_weights(acts, g.mean(0), g.pow(2).mean(0), g.pow(3).mean(0))
        return torch.einsum("nkc,nc...->nk...", weights, acts)
