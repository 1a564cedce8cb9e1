"""Deletion/insertion, Average Drop / Increase and ROAD on a model whose answer is known exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netloupe.errors import InputError
from netloupe.evaluation.faithfulness import (
    auc,
    average_drop_increase,
    deletion_curve,
    gaussian_blur,
    insertion_curve,
    noisy_linear_imputation,
    road,
)

EPS = 1e-7


class RegionModel(nn.Module):
    """Two classes whose softmax probabilities are exactly (p, 1 - p), p = mean of channel 0 over region."""

    def __init__(self, region: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("region", region.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = (x[:, 0] * self.region).sum((1, 2)) / self.region.sum()
        p = p.clamp(EPS, 1 - EPS)
        return torch.stack([p.log(), (1 - p).log()], 1)


def _setup() -> tuple[RegionModel, torch.Tensor, torch.Tensor]:
    region = torch.zeros(4, 4, dtype=torch.bool)
    region[:2, :2] = True
    return RegionModel(region), torch.ones(1, 1, 4, 4), region.float()[None]


def test_deletion_with_perfect_map_is_exact() -> None:
    model, x, perfect = _setup()
    curve = deletion_curve(model, x, perfect, torch.tensor([0]), steps=16)
    expected = torch.tensor([1.0, 0.75, 0.5, 0.25] + [0.0] * 13)
    torch.testing.assert_close(curve[0], expected, atol=1e-6, rtol=0)
    assert auc(curve).item() == pytest.approx(2.0 / 16, abs=1e-6)
    worst = deletion_curve(model, x, 1 - perfect, torch.tensor([0]), steps=16)
    assert auc(worst).item() > auc(curve).item()


def test_insertion_with_perfect_map_is_exact() -> None:
    model, x, perfect = _setup()
    curve = insertion_curve(model, x, perfect, torch.tensor([0]), steps=16, substrate=torch.zeros(1, 1, 4, 4))
    expected = torch.tensor([0.0, 0.25, 0.5, 0.75] + [1.0] * 13)
    torch.testing.assert_close(curve[0], expected, atol=1e-6, rtol=0)
    assert auc(curve).item() == pytest.approx(14.0 / 16, abs=1e-6)


def test_curves_are_batched_consistently_and_model_mode_is_restored() -> None:
    model, _, _ = _setup()
    model.train()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 4, 4, generator=g)
    maps = torch.rand(3, 4, 4, generator=g)
    t = torch.tensor([0, 1, 0])
    full = deletion_curve(model, x, maps, t, steps=8, batch_size=5)
    one = torch.cat(
        [deletion_curve(model, x[i : i + 1], maps[i : i + 1], t[i : i + 1], steps=8) for i in range(3)]
    )
    torch.testing.assert_close(full, one)
    assert model.training


def test_average_drop_and_increase() -> None:
    model, _, perfect = _setup()
    x = torch.full((3, 1, 4, 4), 0.5)
    half = perfect.clone()
    half[0, 1, :] = 0  # keeps 2 of the 4 region pixels -> p halves
    maps = torch.cat([perfect, half, torch.ones(1, 4, 4)])
    res = average_drop_increase(model, x, maps, torch.tensor([0, 0, 1]))
    torch.testing.assert_close(res.drop, torch.tensor([0.0, 0.5, 0.0]), atol=1e-6, rtol=0)
    assert res.increase.tolist() == [0.0, 0.0, 0.0]
    # class 1 has probability 1 - p: hiding the region raises it
    res1 = average_drop_increase(model, x[:1], 1 - perfect, torch.tensor([1]))
    assert res1.increase.tolist() == [1.0]
    assert res1.summary() == {"average_drop": 0.0, "increase_in_confidence": 100.0}


def test_imputation_reproduces_a_linear_ramp() -> None:
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    ramp = (0.3 * xx + 0.1 * yy + 1)[None, None]
    removed = torch.zeros(1, 16, 16, dtype=torch.bool)
    removed[0, 5:10, 6:11] = True
    out = noisy_linear_imputation(ramp, removed, noise_std=0.0, iterations=300)
    torch.testing.assert_close(out, ramp, atol=1e-3, rtol=0)


def test_road_morf_and_lerf_on_region_model() -> None:
    model, _, perfect = _setup()
    x = perfect[None].clone()  # region = 1, elsewhere 0
    morf = road(model, x, perfect, torch.tensor([0]), fractions=(0.25,), order="morf", noise_std=0.0)
    lerf = road(model, x, perfect, torch.tensor([0]), fractions=(0.75,), order="lerf", noise_std=0.0)
    assert morf.probability.item() < 0.05  # the region is imputed from its zero neighbours
    assert lerf.probability.item() == pytest.approx(1.0, abs=1e-5)  # the region is untouched
    assert lerf.correct.tolist() == [[True]]
    with pytest.raises(InputError, match="order"):
        road(model, x, perfect, torch.tensor([0]), order="best")


def test_gaussian_blur_preserves_constants() -> None:
    c = torch.full((1, 3, 20, 20), 0.7)
    torch.testing.assert_close(gaussian_blur(c), c)


def test_shape_errors() -> None:
    model, x, _ = _setup()
    with pytest.raises(InputError, match="maps"):
        deletion_curve(model, x, torch.zeros(1, 5, 4), torch.tensor([0]))
    with pytest.raises(InputError, match="targets"):
        deletion_curve(model, x, torch.zeros(1, 4, 4), torch.tensor([0, 1]))
