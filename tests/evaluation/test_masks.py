"""Mask metrics: energy inside the mask, best-threshold IoU, PxAP/PIoU with exact synthetic values."""

from __future__ import annotations

import pytest
import torch

from netloupe.errors import InputError
from netloupe.evaluation.masks import MaskAccumulator, best_threshold_iou, energy_in_mask, mask_iou


def _mask(h: int, w: int, rows: slice, cols: slice) -> torch.Tensor:
    m = torch.zeros(h, w, dtype=torch.bool)
    m[rows, cols] = True
    return m


def test_energy_inside_all_half_none_and_empty() -> None:
    mask = _mask(8, 8, slice(0, 4), slice(0, 8))  # top half
    inside = mask.float() * 3.0
    half = torch.ones(8, 8)  # uniform: half of the energy in the top half
    outside = (~mask).float()
    empty = torch.zeros(8, 8)
    maps = torch.stack([inside, half, outside, empty])
    e = energy_in_mask(maps, mask.expand(4, -1, -1))
    assert e[:3].tolist() == [1.0, 0.5, 0.0]
    assert torch.isnan(e[3])  # no energy, no share (as evaluation.energy.energy_share)
    acc = MaskAccumulator()
    assert acc.update(maps, mask.expand(4, -1, -1)).tolist() == [1.0, 0.5, 0.0, 0.0]
    assert acc.compute()["energy_in_mask"] == pytest.approx(1.5 / 4)  # the empty map counts as 0


def test_energy_ignores_negative_values() -> None:
    mask = _mask(4, 4, slice(0, 2), slice(0, 4))
    m = torch.where(mask, torch.ones(4, 4), -torch.ones(4, 4))
    assert energy_in_mask(m[None], mask[None]).item() == 1.0


def test_mask_iou_and_best_threshold() -> None:
    gt = _mask(10, 10, slice(0, 10), slice(0, 5))
    assert mask_iou(gt, gt).item() == 1.0
    assert mask_iou(_mask(10, 10, slice(0, 5), slice(0, 5)), gt).item() == 0.5
    assert mask_iou(torch.zeros(10, 10, dtype=torch.bool), torch.zeros(10, 10, dtype=torch.bool)).item() == 0.0
    # a ramp over columns: best threshold keeps exactly columns 0..4
    ramp = torch.linspace(1, 0, 10).expand(10, 10).clone()  # col 0 = 1 ... col 9 = 0
    iou, thr = best_threshold_iou(ramp[None], gt[None])
    assert iou.item() == 1.0
    assert 4 / 9 <= thr.item() < 5 / 9  # keeps values 5/9..1 (cols 0..4), drops 4/9


def test_pxap_perfect_map_is_one_and_inverted_map_is_low() -> None:
    gt = _mask(8, 8, slice(2, 6), slice(2, 6))
    acc = MaskAccumulator()
    acc.update(gt.float()[None], gt[None])
    r = acc.compute()
    assert r["pxap"] == pytest.approx(1.0)
    assert r["piou"] == pytest.approx(1.0)
    assert r["energy_in_mask"] == 1.0
    inv = MaskAccumulator()
    inv.update((~gt).float()[None], gt[None])
    assert inv.compute()["pxap"] == pytest.approx(0.0)
    assert inv.compute()["piou"] == 0.0  # mask pixels are 0 and never above any threshold


def test_pxap_hand_computed() -> None:
    # 4 pixels: values 1.0 (mask), 0.625 (background), 0.5625 (mask), 0.0 (background); exact in binary
    m = torch.tensor([[[1.0, 0.625], [0.5625, 0.0]]])
    k = torch.tensor([[[True, False], [True, False]]])
    acc = MaskAccumulator(bins=100)
    acc.update(m, k)
    c = acc.curves()
    # τ <= 0.56: TP 2, FP 1 -> P 2/3, R 1; 0.57..0.62: TP 1, FP 1 -> P 1/2, R 1/2; 0.63..0.99: P 1, R 1/2
    assert c["precision"][0].item() == pytest.approx(2 / 3)
    assert c["recall"][56].item() == 1.0
    assert c["recall"][57].item() == 0.5
    assert c["precision"][57].item() == 0.5
    assert c["precision"][62].item() == 0.5
    assert c["precision"][63].item() == 1.0
    # PxAP = Σ P(τ_k)(R_k - R_{k+1}) = (2/3)(1 - 1/2) at τ=0.56 + 1 * (1/2 - 0) at τ=0.99
    assert acc.compute()["pxap"] == pytest.approx(2 / 3 * 0.5 + 0.5)
    # PIoU: τ <= 0.56: 2/3; 0.57..0.62: 1/3; 0.63..0.99: 1/2
    assert acc.compute()["piou"] == pytest.approx(2 / 3)


def test_random_maps_pxap_near_positive_fraction() -> None:
    g = torch.Generator().manual_seed(0)
    masks = torch.rand(20, 32, 32, generator=g) < 0.25
    acc = MaskAccumulator()
    acc.update(torch.rand(20, 32, 32, generator=g), masks)
    assert acc.compute()["pxap"] == pytest.approx(0.25, abs=0.02)


def test_mask_shape_mismatch() -> None:
    with pytest.raises(InputError, match="masks"):
        energy_in_mask(torch.zeros(1, 4, 4), torch.zeros(1, 4, 5, dtype=torch.bool))
