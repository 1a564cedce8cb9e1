"""Energy shares inside regions, against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from netloupe.errors import InputError
from netloupe.evaluation.energy import area_fraction, border_mask, box_mask, corner_mask, energy_share


def test_share_hand_values_2d() -> None:
    # map [[1, 2], [3, 4]] (sum 10); region = top row -> (1 + 2) / 10
    maps = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    region = torch.tensor([[True, True], [False, False]])
    assert energy_share(maps, region).tolist() == pytest.approx([0.3])
    # weighted region 0.5 on the diagonal: (0.5 * 1 + 0.5 * 4) / 10
    assert energy_share(maps, torch.tensor([[0.5, 0.0], [0.0, 0.5]])).item() == pytest.approx(0.25)


def test_negative_values_are_clipped_and_empty_maps_are_nan() -> None:
    maps = torch.tensor([[[-5.0, 1.0], [3.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    region = torch.tensor([[True, True], [False, False]])
    share = energy_share(maps, region)
    assert share[0].item() == pytest.approx(0.25)  # relu: [[0, 1], [3, 0]] -> 1 / 4
    assert math.isnan(share[1].item())
    with pytest.raises(InputError, match="non-negative"):
        energy_share(maps, region, relu=False)


def test_batched_per_sample_regions_and_3d() -> None:
    maps = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)  # (N=2, K=3, H, W)
    regions = torch.zeros(2, 1, 2, 2)
    regions[0, 0, 0, 0] = 1  # sample 0: top-left pixel
    regions[1, 0, 1, 1] = 1  # sample 1: bottom-right pixel
    share = energy_share(maps, regions, spatial=2)
    assert share.shape == (2, 3)
    # sample 0, k=1: map [4, 5, 6, 7] -> 4 / 22; sample 1, k=2: map [20, 21, 22, 23] -> 23 / 86
    assert share[0, 1].item() == pytest.approx(4 / 22)
    assert share[1, 2].item() == pytest.approx(23 / 86)
    vol = torch.ones(1, 4, 4, 4)
    assert energy_share(vol, border_mask((4, 4, 4), 1)).item() == pytest.approx(56 / 64)
    with pytest.raises(InputError, match="spatial=2 or 3"):
        energy_share(maps, regions)
    with pytest.raises(InputError, match="spatial shape"):
        energy_share(maps, torch.ones(3, 3))


def test_region_builders() -> None:
    box = box_mask((4, 5), [[1, 0, 3, 2]])  # x in [1, 3), y in [0, 2)
    expected = torch.zeros(1, 4, 5, dtype=torch.bool)
    expected[0, 0:2, 1:3] = True
    assert torch.equal(box, expected)
    border = border_mask((4, 5), 1)
    assert int(border.sum()) == 4 * 5 - 2 * 3
    corners = corner_mask((6, 6), 2, ["tl", "br"])
    assert int(corners.sum()) == 8
    assert bool(corners[0, 0]) and bool(corners[5, 5]) and not bool(corners[0, 5])
    assert area_fraction(corners).item() == pytest.approx(8 / 36)
    with pytest.raises(InputError, match="x0 <= x1"):
        box_mask((4, 4), [[3, 0, 1, 2]])
    with pytest.raises(InputError, match="corners"):
        corner_mask((4, 4), 1, ["middle"])
