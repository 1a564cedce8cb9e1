"""Sanity checks for saliency maps (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

Model-parameter randomisation: re-initialise the model's layers, recompute the maps and measure how
much they still resemble the original ones with Spearman's rank correlation. A map that does not
change when the weights it claims to explain are destroyed is not explaining the model.

* cascading: randomise layers one after another from the output towards the input, keeping the
  earlier randomisations (curve over "how much of the network is random");
* independent: randomise one layer at a time, everything else trained.

The model's parameters and buffers are restored afterwards, also when ``explain`` raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import InputError, LayerNotFound, did_you_mean

__all__ = [
    "RandomizationResult",
    "cascading_randomization",
    "independent_randomization",
    "randomizable_layers",
    "rank",
    "spearman",
]

ExplainFn = Callable[[nn.Module], Tensor]


def rank(x: Tensor) -> Tensor:
    """Ranks (1-based) along the last dimension, ties get the average of their ranks (as scipy's rankdata)."""
    flat = x.reshape(-1, x.shape[-1]).double()
    n = flat.shape[1]
    values, order = flat.sort(dim=1, stable=True)
    new_group = torch.ones_like(values, dtype=torch.bool)
    new_group[:, 1:] = values[:, 1:] != values[:, :-1]
    group = new_group.long().cumsum(1) - 1  # group id of each sorted position
    pos = torch.arange(n, device=x.device, dtype=torch.double).expand_as(values)
    first = torch.full_like(values, float(n)).scatter_reduce(1, group, pos, reduce="amin")
    last = torch.full_like(values, -1.0).scatter_reduce(1, group, pos, reduce="amax")
    avg = (first.gather(1, group) + last.gather(1, group)) / 2 + 1
    ranks = torch.empty_like(avg).scatter_(1, order, avg)
    return ranks.reshape(x.shape)


def spearman(a: Tensor, b: Tensor) -> Tensor:
    """Spearman's rank correlation of ``a`` and ``b`` per sample: Pearson correlation of their ranks.

    ``a`` and ``b`` are ``(N, ...)``; every sample is flattened. Returns ``(N,)``; a constant sample
    (no ranking) gives 0.
    """
    if a.shape != b.shape:
        raise InputError(f"spearman: a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    ra = rank(a.reshape(a.shape[0], -1))
    rb = rank(b.reshape(b.shape[0], -1).to(a.device))
    ra = ra - ra.mean(1, keepdim=True)
    rb = rb - rb.mean(1, keepdim=True)
    den = torch.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    return torch.where(den > 0, (ra * rb).sum(1) / den.clamp(min=1e-300), torch.zeros_like(den)).float()


def randomizable_layers(model: nn.Module) -> list[str]:
    """Names of modules that own parameters directly, output side first (reverse registration order).

    For models whose modules are registered in forward order (torchvision, timm, ``nn.Sequential``)
    this is the top-down order of Adebayo et al.'s cascading randomisation.
    """
    names = [name for name, mod in model.named_modules() if name and any(True for _ in mod.parameters(recurse=False))]
    return names[::-1]


def _reinit(module: nn.Module, generator: torch.Generator) -> None:
    """Re-draw the parameters of a module and of all its submodules: each one's ``reset_parameters``
    (the layer's own initialiser) under a seed drawn from ``generator``; BatchNorm-like affine weights
    are drawn from N(1, 0.5²) and biases from N(0, 0.5²) (their reset would give the constant 1 / 0);
    parameters of modules without an initialiser get a normal draw with their own mean and std."""
    for sub in module.modules():
        own = list(sub.parameters(recurse=False))
        if not own:
            continue
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()
                if isinstance(sub, nn.modules.batchnorm._NormBase) and sub.affine:
                    nn.init.normal_(sub.weight, 1.0, 0.5)
                    nn.init.normal_(sub.bias, 0.0, 0.5)
                continue
            for p in own:
                std = float(p.std()) if p.numel() > 1 else 1.0
                p.copy_(torch.randn(p.shape, dtype=p.dtype).to(p.device) * (std or 1.0) + float(p.mean()))


@dataclass
class RandomizationResult:
    """Rank correlations between original and randomised maps, one row per randomisation step."""

    kind: str  #: "cascading" or "independent"
    layers: list[str]  #: the layer randomised at each step (cascading: the deepest one so far)
    correlation: Tensor  #: (steps, N) Spearman correlation per sample
    original: Tensor  #: (N, ...) the maps of the trained model

    def mean(self) -> Tensor:
        """Mean correlation per step ``(steps,)``."""
        return self.correlation.mean(1)


def _resolve(model: nn.Module, layers: Sequence[str] | None) -> list[str]:
    known = randomizable_layers(model)
    if layers is None:
        return known
    modules = dict(model.named_modules())
    for name in layers:
        if name not in modules:
            raise LayerNotFound(f"layers: unknown layer {name!r}{did_you_mean(name, known)}")
    return list(layers)


def _run(
    model: nn.Module, explain: ExplainFn, layers: Sequence[str] | None, seed: int, cascade: bool
) -> RandomizationResult:
    names = _resolve(model, layers)
    modules = dict(model.named_modules())
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(seed)
    try:
        original = explain(model).detach()
        rows = []
        for name in names:
            if not cascade:
                model.load_state_dict(saved)
            _reinit(modules[name], g)
            maps = explain(model).detach()
            rows.append(spearman(original, maps))
    finally:
        model.load_state_dict(saved)
    corr = torch.stack(rows) if rows else torch.empty(0, original.shape[0])
    return RandomizationResult("cascading" if cascade else "independent", names, corr, original)


def cascading_randomization(
    model: nn.Module, explain: ExplainFn, layers: Sequence[str] | None = None, seed: int = 0
) -> RandomizationResult:
    """Cascading model-parameter randomisation (Adebayo et al. 2018).

    Args:
        model: the trained model; restored afterwards.
        explain: ``model -> maps (N, ...)`` for fixed inputs and targets (e.g. a closure over
            ``netloupe.explain``).
        layers: modules to randomise in order (default :func:`randomizable_layers`, output first); a
            container (e.g. ``"blocks.6"``) randomises all its submodules at once.
        seed: seed of the re-initialisation.

    Returns:
        Spearman correlations ``ρ(original, maps after randomising layers[: k + 1])`` for each k.
    """
    return _run(model, explain, layers, seed, cascade=True)


def independent_randomization(
    model: nn.Module, explain: ExplainFn, layers: Sequence[str] | None = None, seed: int = 0
) -> RandomizationResult:
    """Independent (one layer at a time) model-parameter randomisation (Adebayo et al. 2018)."""
    return _run(model, explain, layers, seed, cascade=False)
