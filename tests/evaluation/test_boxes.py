"""Boxes from maps, connected components and IoU against hand-computed values and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from netloupe.errors import InputError
from netloupe.evaluation.boxes import (
    box_iou,
    boxes_from_maps,
    component_boxes,
    connected_components,
    mask_to_box,
    pairwise_box_iou,
    threshold_maps,
    validate_boxes,
)


def test_iou_known_values() -> None:
    a = torch.tensor([0.0, 0.0, 5.0, 3.0])  # area 15
    b = torch.tensor([1.0, 1.0, 5.0, 6.0])  # area 20, intersection [1,1,5,3] = 8
    assert box_iou(a, b).item() == pytest.approx(8 / 27)
    assert box_iou(a, a).item() == 1.0
    assert box_iou(a, torch.tensor([10.0, 10.0, 12.0, 12.0])).item() == 0.0
    # half of a box: IoU = 0.5
    assert box_iou(torch.tensor([0.0, 0, 4, 4]), torch.tensor([0.0, 0, 4, 2])).item() == 0.5


def test_iou_degenerate_boxes_are_zero_not_nan() -> None:
    empty = torch.zeros(4)
    line = torch.tensor([2.0, 0.0, 2.0, 5.0])
    box = torch.tensor([0.0, 0.0, 4.0, 4.0])
    assert box_iou(empty, empty).item() == 0.0
    assert box_iou(line, box).item() == 0.0
    assert box_iou(torch.tensor([3.0, 3.0, 1.0, 1.0]), box).item() == 0.0  # inverted box


def test_pairwise_iou_shape_and_values() -> None:
    a = torch.tensor([[[0.0, 0, 2, 2], [0, 0, 4, 4]]])
    b = torch.tensor([[[0.0, 0, 2, 2], [2, 2, 4, 4], [0, 0, 4, 2]]])
    iou = pairwise_box_iou(a, b)
    expected = torch.tensor([[[1.0, 0.0, 0.5], [0.25, 0.25, 0.5]]])
    torch.testing.assert_close(iou, expected)


def test_validate_boxes() -> None:
    boxes = torch.tensor(
        [[0.0, 0, 10, 10], [5, 5, 4, 9], [-3, 0, 5, 5], [0, 0, 10.3, 10], [float("nan"), 0, 1, 1]]
    )
    assert validate_boxes(boxes, 10, 10).tolist() == [True, False, False, True, False]


def test_box_of_a_block_map_uses_exclusive_end() -> None:
    m = torch.zeros(1, 10, 12)
    m[0, 2:5, 3:9] = 1.0  # rows 2..4, cols 3..8
    assert boxes_from_maps(m)[0].tolist() == [3.0, 2.0, 9.0, 5.0]
    assert mask_to_box(m > 0)[0].tolist() == [3.0, 2.0, 9.0, 5.0]


def test_cam_protocol_threshold_is_20_percent_of_max_and_largest_component() -> None:
    m = torch.zeros(1, 20, 20)
    m[0, 0:3, 0:3] = 10.0  # small blob with the maximum
    m[0, 10:18, 10:19] = 2.5  # large blob above 20% of the max (2.5 > 2)
    m[0, 5, 15] = 1.9  # below 20% of max: ignored
    assert boxes_from_maps(m)[0].tolist() == [10.0, 10.0, 19.0, 18.0]
    m[0, 10:18, 10:19] = 2.0  # exactly 20%: not above the threshold any more
    assert boxes_from_maps(m)[0].tolist() == [0.0, 0.0, 3.0, 3.0]


def test_empty_and_negative_maps_give_empty_box() -> None:
    maps = torch.stack([torch.zeros(6, 6), -torch.ones(6, 6)])
    assert boxes_from_maps(maps).tolist() == [[0.0, 0.0, 0.0, 0.0]] * 2
    assert not threshold_maps(maps).any()


def test_all_mode_returns_every_component_sorted_by_area() -> None:
    m = torch.zeros(1, 8, 8)
    m[0, 0, 0] = 1.0
    m[0, 4:7, 4:6] = 1.0
    boxes, areas = boxes_from_maps(m, mode="all")
    assert areas[0].tolist() == [6, 1]
    assert boxes[0].tolist() == [[4.0, 4.0, 6.0, 7.0], [0.0, 0.0, 1.0, 1.0]]


def test_diagonal_pixels_join_under_8_connectivity_only() -> None:
    m = torch.tensor([[[1, 0], [0, 1]]], dtype=torch.bool)
    for backend in ("torch", "scipy"):
        assert connected_components(m, 8, backend).max().item() == 1
        assert connected_components(m, 4, backend).max().item() == 2


@pytest.mark.parametrize("connectivity", [4, 8])
def test_torch_components_match_scipy(connectivity: int) -> None:
    g = torch.Generator().manual_seed(3)
    masks = torch.rand(6, 23, 31, generator=g) > 0.5
    masks[0] = True  # all foreground
    masks[1] = False  # empty
    # a spiral: one long winding component
    spiral = np.zeros((23, 31), bool)
    for k in range(0, 11, 2):
        spiral[k, k : 31 - k] = spiral[22 - k, k : 31 - k] = True
        spiral[k : 23 - k, k] = spiral[k : 23 - k, 30 - k] = True
    masks[2] = torch.from_numpy(spiral)
    labels = connected_components(masks, connectivity, backend="torch")
    structure = np.ones((3, 3)) if connectivity == 8 else None
    for i in range(masks.shape[0]):
        ref, n_ref = ndimage.label(masks[i].numpy(), structure=structure)
        ours = labels[i].numpy()
        fg = masks[i].numpy()
        assert ours.max() == n_ref
        assert (ours[~fg] == 0).all()
        assert len(set(zip(ours[fg].tolist(), ref[fg].tolist(), strict=True))) == n_ref


def test_component_boxes_agree_between_backends() -> None:
    g = torch.Generator().manual_seed(1)
    masks = torch.rand(3, 17, 19, generator=g) > 0.6
    bt, at = component_boxes(masks, backend="torch")
    bs, as_ = component_boxes(masks, backend="scipy")
    torch.testing.assert_close(at, as_)
    # same set of boxes per mask (order among equal areas may differ)
    for i in range(3):
        assert sorted(map(tuple, bt[i].tolist())) == sorted(map(tuple, bs[i].tolist()))


def test_bad_inputs_raise_input_error() -> None:
    with pytest.raises(InputError, match="maps"):
        boxes_from_maps(torch.zeros(5))
    with pytest.raises(InputError, match="mode"):
        boxes_from_maps(torch.zeros(1, 4, 4), mode="best")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="connectivity"):
        connected_components(torch.zeros(1, 4, 4, dtype=torch.bool), connectivity=6)
