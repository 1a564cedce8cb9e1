"""Maps that know nothing of the model's reasoning, reported beside every method.

A method should beat them: a random map, an edge detector (Adebayo et al. 2018 showed some saliency
methods behave like one), a centred Gaussian (the "center baseline" of Choe et al. 2020: objects in
photos tend to be central) and the plain input gradient ("backprop", Simonyan et al. 2014).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._state import eval_mode
from ..errors import InputError

__all__ = ["center_gaussian_maps", "gradient_maps", "random_maps", "sobel_maps"]


def random_maps(n: int, height: int, width: int, seed: int = 0, device: str | torch.device = "cpu") -> Tensor:
    """Uniform random maps ``(n, height, width)`` in [0, 1] from a fixed seed."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, height, width, generator=g).to(device)


def sobel_maps(inputs: Tensor) -> Tensor:
    """Edge maps: Sobel gradient magnitude ``sqrt(Gx² + Gy²)`` of the channel mean, ``(N, H, W)``.

    Sobel 3x3 kernels ``Gx = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``, ``Gy = Gxᵀ``, replicate padding.
    """
    if inputs.ndim != 4:
        raise InputError(f"inputs: expected (N, C, H, W), got {tuple(inputs.shape)}")
    grey = inputs.float().mean(1, keepdim=True)
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=inputs.device)
    kernel = torch.stack([gx, gx.T])[:, None]
    g = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernel)
    return torch.sqrt((g**2).sum(1))


def center_gaussian_maps(
    n: int, height: int, width: int, sigma: float = 0.25, device: str | torch.device = "cpu"
) -> Tensor:
    """A centred Gaussian ``exp(-((u/σ)² + (v/σ)²)/2)`` with ``u, v`` the offsets from the centre as
    fractions of the width and height; ``(n, height, width)``, peak 1 at the centre."""
    y = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height - 0.5
    x = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width - 0.5
    g = torch.exp(-((y[:, None] / sigma) ** 2 + (x[None, :] / sigma) ** 2) / 2)
    return g.expand(n, height, width).clone()


def gradient_maps(model: nn.Module, inputs: Tensor, targets: Tensor) -> Tensor:
    """Plain input gradient, "backprop" (Simonyan et al. 2014): ``max_c |∂y_t / ∂x_c|``, ``(N, H, W)``.

    ``y_t`` is the target-class logit. The model's mode and its parameters' ``.grad`` are untouched
    (the gradient is taken with ``torch.autograd.grad`` w.r.t. the input only).
    """
    if inputs.ndim != 4:
        raise InputError(f"inputs: expected (N, C, H, W), got {tuple(inputs.shape)}")
    t = torch.as_tensor(targets, device=inputs.device).long().reshape(-1)
    with eval_mode(model), torch.enable_grad():
        x = inputs.detach().clone().requires_grad_(True)
        out = model(x)
        score = out.reshape(out.shape[0], -1).gather(1, t[:, None]).sum()
        (grad,) = torch.autograd.grad(score, x)
    return grad.abs().amax(1)
