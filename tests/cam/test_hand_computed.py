"""Maps computed by hand on TinyGapNet (see tests/_tiny.py), one test per method family."""

from __future__ import annotations

import math

import pytest
import torch
from tests._tiny import TinyGapNet

import netloupe

X = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
RAW = {"normalize": False, "relu": False}


def raw_map(method: str, target: int = 0, **kw: object) -> torch.Tensor:
    res = netloupe.explain(TinyGapNet(), X, method, target, layer="conv", **RAW, **kw)
    return res.maps[method][0, 0]


def test_cam_is_the_head_weighted_sum() -> None:
    # class 0: 2 * A0 + 1 * A1 = 2x - x = x ; class 1: 0.5 x + x = 1.5 x
    torch.testing.assert_close(raw_map("cam", 0), X[0, 0])
    torch.testing.assert_close(raw_map("cam", 1), 1.5 * X[0, 0])


def test_gradcam_weights_are_mean_gradients() -> None:
    # dy0/dA_c = W_0c / 4 everywhere, so w = (0.5, 0.25) and M = 0.5 x - 0.25 x = 0.25 x
    torch.testing.assert_close(raw_map("gradcam"), torch.tensor([[0.25, 0.5], [0.75, 1.0]]))


def test_xgradcam_and_hirescam_equal_gradcam_for_constant_gradients() -> None:
    expected = torch.tensor([[0.25, 0.5], [0.75, 1.0]])
    torch.testing.assert_close(raw_map("xgradcam"), expected)
    torch.testing.assert_close(raw_map("hirescam"), expected)


def test_layercam_keeps_only_positive_gradients() -> None:
    # class 1: gradients (0.125, -0.25); ReLU keeps channel 0 only: M = 0.125 * x
    torch.testing.assert_close(raw_map("layercam", 1), 0.125 * X[0, 0])


def test_gradcampp_closed_form() -> None:
    # class 0: g = (1/2, 1/4), sum A = (10, -10)
    # alpha0 = (1/4) / (2/4 + 10/8) = 1/7 ; alpha1 = (1/16) / (2/16 - 10/64) = -2
    # w0 = 4 * 1/7 * 1/2 = 2/7 ; w1 = 4 * (-2) * 1/4 = -2 ; M = 2/7 x + 2 x = 16/7 x
    torch.testing.assert_close(raw_map("gradcam++"), 16 / 7 * X[0, 0])


def test_counterfactual_negates_gradcam() -> None:
    torch.testing.assert_close(raw_map("counterfactual"), -raw_map("gradcam"))


def test_ablationcam_relative_drop() -> None:
    # y0 = mean(x) + 0.1 = 2.6; zeroing A0 drops 2 * 2.5 = 5, zeroing A1 drops -2.5
    w0, w1 = 5 / 2.6, -2.5 / 2.6
    torch.testing.assert_close(raw_map("ablationcam"), w0 * X[0, 0] + w1 * -X[0, 0])


def test_scorecam_softmax_of_masked_scores() -> None:
    # masks: A0 = x -> (x - 1) / 3 ; A1 = -x -> (4 - x) / 3; score of class 0 is mean(x * mask) + 0.1
    x = X[0, 0]
    m0, m1 = (x - 1) / 3, (4 - x) / 3
    s0, s1 = (x * m0).mean() + 0.1, (x * m1).mean() + 0.1
    e0, e1 = math.exp(s0), math.exp(s1)
    w0, w1 = e0 / (e0 + e1), e1 / (e0 + e1)
    torch.testing.assert_close(raw_map("scorecam"), w0 * x - w1 * x)


def test_eigencam_matches_numpy_svd() -> None:
    torch.manual_seed(3)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 5, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(5, 2)
    )
    x = torch.randn(1, 2, 7, 7)
    ours = netloupe.explain(model, x, "eigencam", layer="0", upsample=False, **RAW).maps["eigencam"][0, 0]
    acts = model[0](x)[0].detach().reshape(5, -1).T.numpy()  # (positions, channels)
    import numpy as np

    _, _, vt = np.linalg.svd(acts - acts.mean(0), full_matrices=False)
    proj = (acts - acts.mean(0)) @ vt[0]
    if np.corrcoef(proj, acts.sum(1))[0, 1] < 0:
        proj = -proj
    np.testing.assert_allclose(ours.flatten().numpy(), proj, rtol=1e-4, atol=1e-5)


def test_normalised_map_is_min_max_scaled() -> None:
    res = netloupe.explain(TinyGapNet(), X, "gradcam", 0, layer="conv")
    torch.testing.assert_close(res.maps["gradcam"][0, 0], torch.tensor([[0.0, 1 / 3], [2 / 3, 1.0]]))


@pytest.mark.parametrize("target", [0, 1])
def test_single_logit_sign_convention(target: int) -> None:
    # A sigmoid model: class 1 is explained by +z, class 0 by -z, so their Grad-CAMs are opposite.
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 1, 1, bias=False),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(1, 1, bias=False),
    )
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[3].weight.fill_(2.0)
    sign = 1.0 if target == 1 else -1.0
    grad = netloupe.explain(model, X, "gradcam", target, layer="0", **RAW).maps["gradcam"][0, 0]
    torch.testing.assert_close(grad, sign * 0.5 * X[0, 0])  # dz/dA = 2/4
    cam = netloupe.explain(model, X, "cam", target, layer="0", **RAW).maps["cam"][0, 0]
    torch.testing.assert_close(cam, sign * 2.0 * X[0, 0])
