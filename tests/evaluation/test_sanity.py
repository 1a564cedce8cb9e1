"""Rank correlation against scipy; randomisation restores the model; baselines on known images."""

from __future__ import annotations

import pytest
import torch
from scipy import stats
from torch import nn

from netloupe.errors import LayerNotFound
from netloupe.evaluation.baselines import center_gaussian_maps, gradient_maps, random_maps, sobel_maps
from netloupe.evaluation.sanity import (
    cascading_randomization,
    independent_randomization,
    randomizable_layers,
    rank,
    spearman,
)


def test_rank_with_ties_matches_scipy() -> None:
    x = torch.tensor([[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]])
    torch.testing.assert_close(rank(x)[0], torch.tensor(stats.rankdata(x[0].numpy()), dtype=torch.double))


def test_spearman_matches_scipy() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 5, (4, 30), generator=g).float()  # many ties
    b = a + torch.randn(4, 30, generator=g)
    ours = spearman(a, b)
    for i in range(4):
        assert ours[i].item() == pytest.approx(
            stats.spearmanr(a[i].numpy(), b[i].numpy()).statistic, abs=1e-6
        )
    assert spearman(a, a).tolist() == pytest.approx([1.0] * 4)
    assert spearman(a, -a).tolist() == pytest.approx([-1.0] * 4)
    assert spearman(torch.ones(1, 5), a[:1, :5]).item() == 0.0


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def test_randomizable_layers_output_first() -> None:
    assert randomizable_layers(_model()) == ["6", "2", "0"]


def test_cascading_randomization_changes_maps_and_restores_model() -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(2, 3, 8, 8)

    def explain(m: nn.Module) -> torch.Tensor:
        return gradient_maps(m, x, torch.tensor([0, 1]))

    res = cascading_randomization(model, explain)
    assert res.layers == ["6", "2", "0"]
    assert res.correlation.shape == (3, 2)
    assert (res.correlation < 0.99).all()
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    torch.testing.assert_close(explain(model), res.original)


def test_independent_randomization_of_an_unused_layer_keeps_maps() -> None:
    model = _model()
    model.add_module("unused", nn.Linear(2, 2))
    x = torch.rand(1, 3, 8, 8)
    res = independent_randomization(
        model, lambda m: gradient_maps(m[:7], x, torch.tensor([2])), layers=["unused", "6"]
    )
    assert res.correlation[0].item() == pytest.approx(1.0)
    assert res.correlation[1].item() < 0.99


def test_model_restored_after_exception() -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = []

    def explain(m: nn.Module) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return torch.rand(1, 4)

    with pytest.raises(RuntimeError, match="boom"):
        cascading_randomization(model, explain)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_unknown_layer() -> None:
    with pytest.raises(LayerNotFound, match="closest"):
        cascading_randomization(_model(), lambda m: torch.zeros(1, 2), layers=["66"])


def test_sobel_on_a_step_edge() -> None:
    img = torch.zeros(1, 3, 5, 6)
    img[..., 3:] = 1.0
    s = sobel_maps(img)
    expected = torch.zeros(5, 6)
    expected[:, 2:4] = 4.0  # (1 + 2 + 1) on both columns next to the step
    torch.testing.assert_close(s[0], expected)


def test_gradient_map_of_a_linear_model_is_its_weights() -> None:
    lin = nn.Linear(2 * 3 * 3, 2, bias=False)
    model = nn.Sequential(nn.Flatten(), lin)
    x = torch.rand(1, 2, 3, 3)
    g = gradient_maps(model, x, torch.tensor([1]))
    expected = lin.weight[1].detach().reshape(2, 3, 3).abs().amax(0)
    torch.testing.assert_close(g[0], expected)
    assert lin.weight.grad is None


def test_center_and_random_baselines() -> None:
    c = center_gaussian_maps(2, 9, 9)
    assert c[0, 4, 4].item() == 1.0
    assert c.argmax().item() == 4 * 9 + 4
    torch.testing.assert_close(c[0], c[0].flip(0).flip(1))
    r1, r2 = random_maps(2, 4, 4, seed=1), random_maps(2, 4, 4, seed=1)
    assert torch.equal(r1, r2)
    assert r1.min() >= 0
    assert r1.max() <= 1
