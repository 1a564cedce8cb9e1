"""Localization error, MaxBoxAccV2 and pointing game against synthetic ground truth."""

from __future__ import annotations

import math

import pytest
import torch

from netloupe.errors import InputError
from netloupe.evaluation.localization import (
    LocalizationAccumulator,
    MaxBoxAccumulator,
    PointingGameAccumulator,
    best_box_iou,
    localization_hits,
    pointing_game_hits,
    topk_correct,
)

NAN = float("nan")


def test_best_iou_over_several_gt_boxes_and_padding() -> None:
    pred = torch.tensor([[0.0, 0, 5, 3], [0, 0, 4, 4]])
    gt = torch.tensor([[[1.0, 1, 5, 6], [50, 50, 60, 60]], [[0, 0, 4, 2], [NAN, NAN, NAN, NAN]]])
    iou = best_box_iou(pred, gt)
    torch.testing.assert_close(iou, torch.tensor([8 / 27, 0.5]))
    assert localization_hits(pred, gt).tolist() == [False, True]  # IoU 0.5 counts (>=)
    valid = torch.tensor([[True, True], [False, False]])
    assert best_box_iou(pred, gt, valid)[1].item() == 0.0  # no valid GT -> 0


def test_topk_correct() -> None:
    logits = torch.tensor([[0.1, 0.9, 0.5, 0.2, 0.3, 0.0, -1.0], [1.0, 0.6, 0.5, 0.4, 0.3, 0.2, 2.0]])
    labels = torch.tensor([2, 4])
    assert topk_correct(logits, labels, 1).tolist() == [False, False]
    assert topk_correct(logits, labels, 2).tolist() == [True, False]
    assert topk_correct(logits, labels, 5).tolist() == [True, False]
    assert topk_correct(logits, labels, 6).tolist() == [True, True]
    assert topk_correct(logits, labels, 100).tolist() == [True, True]  # k larger than C


def test_localization_accumulator_errors() -> None:
    # four samples: (top1 right, box right), (top1 wrong but top5 right, box right),
    # (top1 right, box wrong), (wrong, box right)
    logits = torch.zeros(4, 10)
    logits[0, 3] = 5
    logits[1, 7] = 5
    logits[1, 3] = 4
    logits[2, 3] = 5
    logits[3, 9] = 5
    logits[3, :6] = -1
    logits[3, 3] = -2  # label 3 not in the top 5
    labels = torch.tensor([3, 3, 3, 3])
    gt = torch.tensor([[[0.0, 0, 10, 10]]]).repeat(4, 1, 1)
    pred = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 10, 4.9], [0, 0, 10, 10]])
    acc = LocalizationAccumulator()
    acc.update(logits[:2], labels[:2], pred[:2], gt[:2])
    acc.update(logits[2:], labels[2:], pred[2:], gt[2:])
    r = acc.compute()
    assert r["n"] == 4
    assert r["top1_cls_error"] == 0.5
    assert r["top5_cls_error"] == 0.25
    assert r["gt_known_loc_error"] == 0.25  # samples 0, 1, 3 hit (IoU 1, 0.5, 1); sample 2 has IoU 0.49
    assert r["top1_loc_error"] == 0.75
    assert r["top5_loc_error"] == 0.5


def test_localization_accumulator_empty_raises() -> None:
    with pytest.raises(InputError, match="no samples"):
        LocalizationAccumulator().compute()


def _block_map(h: int, w: int, box: tuple[int, int, int, int]) -> torch.Tensor:
    m = torch.zeros(h, w)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = 1.0
    return m


def test_maxboxacc_perfect_half_and_miss() -> None:
    gt = torch.tensor([[[4.0, 4, 12, 12]]]).repeat(3, 1, 1)
    maps = torch.stack(
        [
            _block_map(16, 16, (4, 4, 12, 12)),  # exact: IoU 1
            _block_map(16, 16, (4, 4, 12, 8)),  # half: IoU 0.5
            _block_map(16, 16, (0, 0, 2, 2)),  # miss
        ]
    )
    acc = MaxBoxAccumulator()
    acc.update(maps, gt)
    r = acc.compute()
    assert r["maxboxacc@0.3"] == pytest.approx(2 / 3)
    assert r["maxboxacc@0.5"] == pytest.approx(2 / 3)
    assert r["maxboxacc@0.7"] == pytest.approx(1 / 3)
    assert r["maxboxacc_v2"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3)


def test_maxboxacc_uses_best_threshold_and_all_components() -> None:
    # GT blob (1.0) joined by a bridge (0.3) to a larger distractor (0.5); background 0
    m = torch.zeros(20, 20)
    m[2:6, 2:6] = 1.0
    m[10:20, 0:20] = 0.5
    m[6:10, 3] = 0.3
    gt = torch.tensor([[[2.0, 2, 6, 6]]])
    multi = MaxBoxAccumulator()
    multi.update(m[None], gt)
    r = multi.compute()
    assert r["maxboxacc@0.7"] == 1.0
    assert r["best_threshold@0.7"] == pytest.approx(0.3)  # first τ that cuts the bridge (M > τ is strict)
    single = MaxBoxAccumulator(multi_contour=False)
    single.update(m[None], gt)
    assert single.compute()["best_threshold@0.7"] == pytest.approx(0.5)  # must also drop the distractor
    mid = torch.tensor([0.4])
    for multi_contour, expected in ((True, 1.0), (False, 0.0)):
        acc = MaxBoxAccumulator(thresholds=mid, multi_contour=multi_contour)
        acc.update(m[None], gt)
        assert acc.compute()["maxboxacc@0.7"] == expected


def test_pointing_game_boxes_with_tolerance() -> None:
    maps = torch.zeros(3, 64, 64)
    maps[0, 10, 10] = 1.0  # inside the box
    maps[1, 10, 40] = 1.0  # 14.5 px right of the box edge (x1 = 26; centre 40.5)
    maps[2, 10, 45] = 1.0  # 19.5 px away
    gt = torch.tensor([[[5.0, 5, 26, 26]]]).repeat(3, 1, 1)
    assert pointing_game_hits(maps, gt_boxes=gt).tolist() == [True, True, False]
    assert pointing_game_hits(maps, gt_boxes=gt, tolerance=0).tolist() == [True, False, False]


def test_pointing_game_masks() -> None:
    maps = torch.zeros(2, 40, 40)
    maps[0, 20, 20] = 1.0
    maps[1, 0, 0] = 1.0
    masks = torch.zeros(2, 40, 40, dtype=torch.bool)
    masks[:, 20:30, 31:35] = True  # nearest mask pixel to (20, 20) is (20, 31): 11 px
    assert pointing_game_hits(maps, gt_masks=masks).tolist() == [True, False]
    assert pointing_game_hits(maps, gt_masks=masks, tolerance=10).tolist() == [False, False]
    acc = PointingGameAccumulator()
    acc.update(maps, gt_masks=masks)
    assert acc.compute()["pointing_game"] == 0.5
    assert math.isclose(acc.compute()["n"], 2)


def test_pointing_game_argument_errors() -> None:
    with pytest.raises(InputError, match="exactly one"):
        pointing_game_hits(torch.zeros(1, 4, 4))
    with pytest.raises(InputError, match="gt_masks"):
        pointing_game_hits(torch.zeros(1, 4, 4), gt_masks=torch.zeros(1, 5, 4, dtype=torch.bool))
