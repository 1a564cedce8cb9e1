from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from netloupe.errors import InputError
from netloupe.internals.data import ImageSet
from netloupe.internals.dissection import NetworkDissection
from netloupe.internals.synthetic import identity_preprocess, shape_detector_net, synthetic_shapes


@pytest.fixture(scope="module")
def shapes() -> ImageSet:
    return synthetic_shapes(n=40, size=40)


def test_hand_set_units_are_found_with_the_iou_known_by_construction(shapes: ImageSet) -> None:
    d = NetworkDissection(shape_detector_net(), "0", identity_preprocess()).fit(shapes)
    # Unit 0's top 0.5% is the plateau where its 3x3 window lies inside the 8x8 square: 6x6 of 8x8 pixels.
    assert d.iou_[0, 0].item() == pytest.approx(36 / 64, abs=1e-6)
    # Unit 1: the 45 pixels of the radius-5 disc (81 pixels) whose 3x3 neighbourhood is inside it.
    assert d.iou_[1, 1].item() == pytest.approx(45 / 81, abs=1e-6)
    assert d.iou_[0, 1].item() == 0.0
    assert d.iou_[1, 0].item() == 0.0
    assert [(det.unit, det.concept) for det in d.detectors_] == [(0, "square"), (1, "circle")]
    assert not d.summary()[2]["detector"]
    assert not d.summary()[3]["detector"]
    # unit 3 is constant (0.1 everywhere): its threshold is its minimum, so it selects nothing
    assert d.nonselective_.tolist() == [False, False, False, True]
    assert d.iou_[3].tolist() == [0.0, 0.0]
    assert d.coverage_[3].item() == 0.0
    # unit 0's top level is its 6x6 plateau: every square's plateau is in the mask, ties included
    n_squares = sum(int(shapes.masks(i)[0].any()) for i in range(len(shapes)))
    assert d.coverage_[0].item() == pytest.approx(36 * n_squares / (len(shapes) * 40 * 40))
    top = d.top_images(0, 3)
    assert all(shapes.masks(i)[0].any() for i in top)


def test_upsampled_pooled_layer_still_finds_the_detectors(shapes: ImageSet) -> None:
    d = NetworkDissection(shape_detector_net(), "2", identity_preprocess()).fit(shapes)
    assert {(det.unit, det.concept) for det in d.detectors_} == {(0, "square"), (1, "circle")}
    mask = d.unit_mask(d.top_images(0, 1)[0], 0)
    assert mask.shape == (40, 40)
    assert mask.any()


def test_a_dead_unit_is_not_a_detector_of_a_large_concept() -> None:
    # concept "background" covers ~95% of the image; a dead ReLU unit (0 everywhere) must not match it
    shapes = synthetic_shapes(n=20, size=32)
    images = [np.asarray(shapes.image(i)) for i in range(20)]
    masks = [np.stack([~shapes.masks(i).any(0)]) for i in range(20)]
    bg = ImageSet.from_arrays(images, masks=masks, concepts=["background"])
    conv = nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.copy_(torch.tensor([-1.0, 0.0]))  # unit 0: dead after the ReLU
        conv.weight[1, 2] = 1.0  # unit 1: reads the blue background noise
    d = NetworkDissection(nn.Sequential(conv, nn.ReLU()), "1", identity_preprocess()).fit(bg)
    assert d.nonselective_.tolist() == [True, False]
    assert d.iou_[0, 0].item() == 0.0
    assert 0 not in [det.unit for det in d.detectors_]


def test_iou_matches_a_direct_implementation_of_the_formula(shapes: ImageSet) -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.AvgPool2d(4))
    d = NetworkDissection(model, "2", identity_preprocess(), quantile=0.05, batch_size=7, unit_chunk=2).fit(shapes)
    x = identity_preprocess().batch(shapes.images(range(len(shapes))))
    with torch.no_grad():
        acts = model(x)
    values = acts.transpose(0, 1).reshape(5, -1).numpy()
    k = math.ceil(0.05 * values.shape[1])
    thresholds = np.sort(values, axis=1)[:, -k]
    up = F.interpolate(acts, size=(40, 40), mode="bilinear", align_corners=False).numpy()
    masks = np.stack([shapes.masks(i) for i in range(len(shapes))])  # (N, K, H, W)
    for unit in range(5):
        # a unit whose top-quantile level is its minimum selects only values above it
        m = (
            up[:, unit] > thresholds[unit]
            if thresholds[unit] <= values[unit].min()
            else up[:, unit] >= thresholds[unit]
        )
        for c in range(2):
            inter = np.logical_and(m, masks[:, c]).sum()
            union = np.logical_or(m, masks[:, c]).sum()
            assert d.iou_[unit, c].item() == pytest.approx(inter / union, abs=1e-6)


def test_bad_inputs(shapes: ImageSet) -> None:
    no_masks = ImageSet.from_arrays([np.zeros((8, 8, 3), np.uint8)] * 3)
    with pytest.raises(InputError, match="needs concept masks"):
        NetworkDissection(shape_detector_net(), "0", identity_preprocess()).fit(no_masks)
    with pytest.raises(InputError, match=r"needs a conv layer with \(N, C, H, W\) output; '5' gives"):
        NetworkDissection(shape_detector_net(), "5", identity_preprocess()).fit(shapes)
    with pytest.raises(InputError, match="quantile: expected a fraction"):
        NetworkDissection(shape_detector_net(), "0", identity_preprocess(), quantile=5)
    with pytest.raises(InputError, match="not fitted yet"):
        NetworkDissection(shape_detector_net(), "0", identity_preprocess()).top_images(0)
    mixed = ImageSet.from_arrays(
        [np.zeros((8, 8, 3), np.uint8), np.zeros((9, 9, 3), np.uint8)],
        masks=[np.zeros((1, 8, 8)), np.zeros((1, 9, 9))],
        concepts=["x"],
    )
    with pytest.raises(InputError, match="mixed image sizes"):
        NetworkDissection(shape_detector_net(), "0", identity_preprocess()).fit(mixed)


def test_a_unit_saturated_almost_everywhere_is_not_a_detector() -> None:
    # unit 0 = clamp(blue noise, max=0.01): tied at its maximum on ~all positions, so its mask is everything
    shapes = synthetic_shapes(n=20, size=32)
    masks = [np.stack([~shapes.masks(i).any(0)]) for i in range(20)]
    bg = ImageSet.from_arrays([np.asarray(shapes.image(i)) for i in range(20)], masks=masks, concepts=["background"])
    conv = nn.Conv2d(3, 1, 1)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 2] = 1.0
    model = nn.Sequential(conv, nn.Hardtanh(0.0, 0.01))
    d = NetworkDissection(model, "1", identity_preprocess()).fit(bg)
    assert d.coverage_[0].item() > 0.9
    assert d.iou_[0, 0].item() > 0.5  # the mask is (almost) the whole image, as is the background
    assert d.detectors_ == []
    assert d.summary()[0]["saturated"]
    paper = NetworkDissection(model, "1", identity_preprocess(), max_coverage=1.0).fit(bg)
    assert [det.unit for det in paper.detectors_] == [0]  # the paper's rule alone would call it a detector


def test_refit_from_saved_activations_equals_a_fresh_fit(shapes: ImageSet) -> None:
    first = NetworkDissection(shape_detector_net(), "2", identity_preprocess()).fit(shapes)
    again = NetworkDissection(shape_detector_net(), "2", identity_preprocess(), quantile=0.05)
    again.fit(shapes, activations=first.activations_)
    fresh = NetworkDissection(shape_detector_net(), "2", identity_preprocess(), quantile=0.05).fit(shapes)
    torch.testing.assert_close(again.iou_, fresh.iou_)
    assert not torch.equal(again.iou_, first.iou_)
    with pytest.raises(InputError, match=r"activations: expected \(N=40"):
        again.fit(shapes, activations=first.activations_[:3])
