"""Faithfulness of maps: deletion/insertion (RISE), Average Drop / Increase in Confidence, ROAD.

Every function takes the model, the model-ready ``inputs (N, C, H, W)``, saliency ``maps (N, H, W)`` on the
same pixel grid and ``targets (N,)`` class indices; the score of a sample is the softmax probability
of its target class (a sigmoid single-logit model follows :func:`netloupe.targets.probabilities`). The
model is run in eval mode under ``torch.no_grad`` in batches of ``batch_size`` perturbed inputs; its
mode is restored afterwards. Nothing leaves the inputs' device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._state import eval_mode
from ..errors import InputError
from ..targets import probabilities

__all__ = [
    "ConfidenceChange",
    "RoadCurve",
    "auc",
    "average_drop_increase",
    "deletion_curve",
    "gaussian_blur",
    "insertion_curve",
    "noisy_linear_imputation",
    "road",
]


def _check(inputs: Tensor, maps: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    if inputs.ndim != 4:
        raise InputError(f"inputs: expected (N, C, H, W), got {tuple(inputs.shape)}")
    if maps.ndim == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]
    if maps.shape != (inputs.shape[0], *inputs.shape[-2:]):
        raise InputError(
            f"maps: expected (N, H, W) = {(inputs.shape[0], *inputs.shape[-2:])} like inputs, got {tuple(maps.shape)}"
        )
    t = torch.as_tensor(targets, device=inputs.device).long().reshape(-1)
    if t.shape[0] != inputs.shape[0]:
        raise InputError(f"targets: expected {inputs.shape[0]} class indices, got {t.shape[0]}")
    return maps.to(inputs.device).float(), t


@torch.no_grad()
def _scores(model: nn.Module, x: Tensor, targets: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    """Target-class probabilities and whether the target is the top-1 class, for x (B, C, H, W)."""
    probs, hits = [], []
    for i in range(0, x.shape[0], batch_size):
        p = probabilities(model(x[i : i + batch_size]))
        t = targets[i : i + batch_size]
        probs.append(p.gather(1, t[:, None])[:, 0])
        hits.append(p.argmax(1) == t)
    return torch.cat(probs), torch.cat(hits)


def gaussian_blur(x: Tensor, kernel_size: int = 11, sigma: float = 5.0) -> Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)`` with reflect padding (RISE's insertion substrate)."""
    half = kernel_size // 2
    coords = torch.arange(kernel_size, device=x.device, dtype=x.dtype) - half
    k = torch.exp(-(coords**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    mode = "reflect" if min(x.shape[-2:]) > half else "replicate"
    y = F.pad(x, (half, half, 0, 0), mode=mode)
    y = F.conv2d(y, k.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = F.pad(y, (0, 0, half, half), mode=mode)
    return F.conv2d(y, k.reshape(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ranks(maps: Tensor, descending: bool = True) -> Tensor:
    """Rank of every pixel (0 = first to perturb), ties broken by pixel order."""
    flat = maps.flatten(1)
    order = flat.argsort(dim=1, descending=descending, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    return ranks


def _curve(
    model: nn.Module,
    start: Tensor,
    finish: Tensor,
    maps: Tensor,
    targets: Tensor,
    steps: int,
    batch_size: int,
) -> Tensor:
    n, _c, h, w = start.shape
    ranks = _ranks(maps).reshape(n, 1, h, w)
    counts = torch.round(torch.linspace(0, h * w, steps + 1, device=start.device)).long()
    out = torch.empty(n, steps + 1, device=start.device)
    # all (sample, step) pairs, flattened sample-major, evaluated in chunks of batch_size
    pairs = torch.arange(n * (steps + 1), device=start.device)
    with eval_mode(model):
        for i in range(0, pairs.numel(), batch_size):
            p = pairs[i : i + batch_size]
            s, k = p // (steps + 1), p % (steps + 1)
            moved = ranks[s] < counts[k].reshape(-1, 1, 1, 1)
            x = torch.where(moved, finish[s], start[s])
            out.view(-1)[p] = _scores(model, x, targets[s], batch_size)[0]
    return out


def deletion_curve(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    targets: Tensor,
    steps: int = 50,
    baseline: Tensor | float = 0.0,
    batch_size: int = 64,
) -> Tensor:
    """Deletion curve (Petsiuk et al. 2018, RISE): remove the most salient pixels first.

    Step ``k`` of ``steps`` replaces the ``round(k / steps * H * W)`` highest-ranked pixels by ``baseline``
    (0 in model-input space by default, the RISE choice) and records the target probability. A
    faithful map makes the probability fall fast: lower area under the curve is better.

    Returns:
        ``(N, steps + 1)`` probabilities at removed fractions ``0, 1/steps, ..., 1``.
    """
    m, t = _check(inputs, maps, targets)
    finish = torch.as_tensor(baseline, dtype=inputs.dtype, device=inputs.device).expand_as(inputs)
    return _curve(model, inputs, finish, m, t, steps, batch_size)


def insertion_curve(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    targets: Tensor,
    steps: int = 50,
    substrate: Tensor | None = None,
    batch_size: int = 64,
) -> Tensor:
    """Insertion curve (Petsiuk et al. 2018, RISE): reveal the most salient pixels first.

    Starts from ``substrate`` (default a Gaussian blur of the input, kernel 11, σ = 5, as in RISE) and
    copies in the ``round(k / steps * H * W)`` highest-ranked original pixels at step ``k``. Higher area
    under the curve is better.
    """
    m, t = _check(inputs, maps, targets)
    start = gaussian_blur(inputs) if substrate is None else substrate.to(inputs.device).expand_as(inputs)
    return _curve(model, start, inputs, m, t, steps, batch_size)


def auc(curve: Tensor) -> Tensor:
    """Normalised area under curves ``(N, S + 1)`` sampled at equal steps over [0, 1] (trapezoid rule)."""
    if curve.shape[-1] < 2:
        raise InputError(f"curve: needs at least 2 points, got {curve.shape[-1]}")
    return torch.trapezoid(curve, dx=1.0 / (curve.shape[-1] - 1), dim=-1)


@dataclass
class ConfidenceChange:
    """Per-sample results of :func:`average_drop_increase` (aggregate with ``.mean()``)."""

    original: Tensor  #: Y_c, target probability on the input
    explanation: Tensor  #: O_c, target probability on the map-masked input
    drop: Tensor  #: max(0, Y_c - O_c) / Y_c, in [0, 1]
    increase: Tensor  #: 1[Y_c < O_c] as float

    def summary(self) -> dict[str, float]:
        """Average Drop and Increase in Confidence in percent, as in the Grad-CAM++ paper."""
        return {
            "average_drop": 100 * float(self.drop.mean()),
            "increase_in_confidence": 100 * float(self.increase.mean()),
        }


def average_drop_increase(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    targets: Tensor,
    baseline: Tensor | float = 0.0,
    batch_size: int = 64,
) -> ConfidenceChange:
    """Average Drop and Increase in Confidence (Chattopadhyay et al. 2018, Grad-CAM++).

    The explanation image keeps the input where the map is high: ``E = b + M ⊙ (x - b)`` with the map
    ``M`` in [0, 1] (negative values are set to 0 and the map is divided by its maximum; an all-zero map
    hides everything) and ``b = baseline`` (0 in model-input space).
    With ``Y_c`` the target probability on ``x`` and ``O_c`` on ``E``:
    ``Average Drop = 100/N Σ max(0, Y_c - O_c) / Y_c`` (lower is better) and
    ``Increase in Confidence = 100/N Σ 1[Y_c < O_c]`` (higher is better).
    """
    m, t = _check(inputs, maps, targets)
    m = m.clamp(min=0)
    hi = m.amax(dim=(1, 2), keepdim=True)
    m = torch.where(hi > 0, m / hi.clamp(min=1e-12), torch.zeros_like(m))
    b = torch.as_tensor(baseline, dtype=inputs.dtype, device=inputs.device)
    explained = b + m[:, None] * (inputs - b)
    with eval_mode(model):
        y, _ = _scores(model, inputs, t, batch_size)
        o, _ = _scores(model, explained, t, batch_size)
    drop = (y - o).clamp(min=0) / y.clamp(min=torch.finfo(y.dtype).tiny)
    return ConfidenceChange(original=y, explanation=o, drop=drop, increase=(y < o).float())


_OFFSETS = [
    (-1, -1, 1 / 12),
    (-1, 0, 1 / 6),
    (-1, 1, 1 / 12),
    (0, -1, 1 / 6),
    (0, 1, 1 / 6),
    (1, -1, 1 / 12),
    (1, 0, 1 / 6),
    (1, 1, 1 / 12),
]


def _neighbour_sum(x: Tensor) -> Tensor:
    """Σ_j w_j x_j over the 8 neighbours (zero outside the image), by shifted slices."""
    h, w = x.shape[-2:]
    p = F.pad(x, (1, 1, 1, 1))
    out = torch.zeros_like(x)
    for dy, dx, wt in _OFFSETS:
        out = out + wt * p[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    return out


def _push_pull(x: Tensor, keep: Tensor) -> Tensor:
    """Fill pixels where ``keep == 0`` from a pyramid of masked averages (coarse-to-fine)."""
    h, w = x.shape[-2:]
    if bool(keep.bool().all()) or min(h, w) <= 1:
        return (
            x
            if bool(keep.bool().all())
            else torch.where(
                keep > 0,
                x,
                (x * keep).sum((-2, -1), keepdim=True) / keep.sum((-2, -1), keepdim=True).clamp(min=1e-6),
            )
        )
    num = F.avg_pool2d(x * keep, 2, ceil_mode=True)
    den = F.avg_pool2d(keep, 2, ceil_mode=True)
    coarse = _push_pull(num / den.clamp(min=1e-6), (den > 0).to(x.dtype))
    up = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return torch.where(keep > 0, x, up)


def noisy_linear_imputation(
    inputs: Tensor,
    removed: Tensor,
    noise_std: float = 0.01,
    iterations: int = 10,
    generator: torch.Generator | None = None,
) -> Tensor:
    """ROAD's noisy linear imputation (Rong et al. 2022): fill removed pixels from their neighbours.

    Each removed pixel ``u`` must equal the weighted mean of its 8 neighbours, ``x_u = Σ_j w_j x_j /
    Σ_j w_j`` with weight 1/6 for edge and 1/12 for corner neighbours (inside the image). The paper
    solves this sparse linear system directly; here it is solved by Jacobi iterations started from a
    push-pull (masked image pyramid) fill, which is batched and stays on the device. Gaussian noise of
    standard deviation ``noise_std`` is then added to the imputed pixels only.

    Args:
        inputs: ``(N, C, H, W)``.
        removed: bool ``(N, H, W)``, True where the pixel is removed.
        iterations: Jacobi iterations after the pyramid fill (a few smooth the fill; the linear system
            is met to 1e-3 on smooth images after a few hundred).
    """
    rem = removed.to(inputs.device).bool()[:, None]
    keep = (~rem).to(inputs.dtype)
    weight_sum = _neighbour_sum(torch.ones_like(inputs[:1, :1]))  # border pixels have fewer neighbours
    x = _push_pull(inputs, keep)
    for _ in range(iterations):
        x = torch.where(rem, _neighbour_sum(x) / weight_sum, inputs)
    noise = torch.randn(x.shape, generator=generator, device="cpu" if generator is None else generator.device)
    return torch.where(rem, x + noise_std * noise.to(x.device, x.dtype), inputs)


@dataclass
class RoadCurve:
    """ROAD results: per-sample target probability and top-1 hit at each removed fraction."""

    fractions: Tensor  #: (P,)
    probability: Tensor  #: (N, P)
    correct: Tensor  #: (N, P) bool


def road(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    targets: Tensor,
    fractions: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    order: str = "morf",
    noise_std: float = 0.01,
    iterations: int = 10,
    seed: int = 0,
    batch_size: int = 64,
) -> RoadCurve:
    """ROAD, Remove And Debias (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy ...").

    For each fraction ``p`` the ``p · H · W`` most (``order="morf"``) or least (``"lerf"``) salient pixels
    are removed and re-imputed by :func:`noisy_linear_imputation`, which hides the removal's shape
    from the model; the model is evaluated without retraining. With MoRF a faithful map makes accuracy
    and probability fall fast; with LeRF they should stay high.
    """
    if order not in ("morf", "lerf"):
        raise InputError(f"order: expected 'morf' or 'lerf', got {order!r}")
    m, t = _check(inputs, maps, targets)
    n, _, h, w = inputs.shape
    ranks = _ranks(m, descending=order == "morf").reshape(n, h, w)
    g = torch.Generator(device="cpu").manual_seed(seed)
    probs, hits = [], []
    with eval_mode(model):
        for p in fractions:
            if not 0.0 <= p <= 1.0:
                raise InputError(f"fractions: expected values in [0, 1], got {p}")
            removed = ranks < round(p * h * w)
            x = noisy_linear_imputation(inputs, removed, noise_std, iterations, g)
            prob, hit = _scores(model, x, t, batch_size)
            probs.append(prob)
            hits.append(hit)
    return RoadCurve(torch.tensor(list(fractions)), torch.stack(probs, 1), torch.stack(hits, 1))
