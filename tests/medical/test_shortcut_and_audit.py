"""The synthetic marker, the region parser and the audit on models whose evidence is known."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from netloupe.errors import InputError
from netloupe.medical.audit import parse_region, verdict
from netloupe.medical.shortcut import Marker, add_marker, marker_transform


def test_marker_box_and_pixels() -> None:
    m = Marker(corner="top-right", size=3, margin=1)
    assert m.box(10, 12) == (8, 1, 11, 4)
    out = add_marker(torch.zeros(2, 1, 10, 12), m, torch.tensor([True, False]))
    expected = torch.zeros(10, 12)
    expected[1:4, 8:11] = 1.0
    expected[2, 9] = 0.0  # dark core pixel
    assert torch.equal(out[0, 0], expected)
    assert out[1].abs().sum() == 0
    with pytest.raises(InputError, match="marker corner"):
        Marker(corner="middle")


def test_marker_transform_follows_the_label() -> None:
    images = torch.zeros(6, 1, 8, 8)
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    out = marker_transform(Marker(size=2), label=1)(images, labels)
    stamped = out.flatten(1).sum(1) > 0
    assert stamped.tolist() == [False, True, False, True, True, False]


def test_parse_region_forms(tmp_path: Path) -> None:
    mask, _ = parse_region("corner:tr:3", (8, 8))
    assert int(mask.sum()) == 9 and bool(mask[0, 7]) and not bool(mask[7, 0])
    mask, _ = parse_region("box:0,0,2,2;6,6,8,8", (8, 8))
    assert int(mask.sum()) == 8
    assert int(parse_region("borders:1", (8, 8))[0].sum()) == 28
    from PIL import Image

    Image.new("L", (4, 4), 255).save(tmp_path / "m.png")
    assert bool(parse_region(f"mask:{tmp_path / 'm.png'}", (8, 8))[0].all())
    with pytest.raises(InputError, match="region: expected"):
        parse_region("ellipse:3", (8, 8))
    with pytest.raises(InputError, match="corner must be"):
        parse_region("corner:xx:3", (8, 8))


def test_verdict_thresholds() -> None:
    assert verdict(0.6, 0.05) == "shortcut likely"
    assert verdict(0.1, 0.05) == "inspect"
    assert verdict(0.05, 0.05) == "no sign of a shortcut in this region"


class _Gate(nn.Module):
    """Multiplies the features by a fixed mask: the model can only see inside it."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


def _model_looking_at(mask: torch.Tensor) -> nn.Module:
    conv = nn.Conv2d(1, 1, 1)
    lin = nn.Linear(1, 2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.fill_(0.0)
        lin.weight.copy_(torch.tensor([[1.0], [2.0]]))
        lin.bias.copy_(torch.tensor([0.0, -0.2]))
    return nn.Sequential(conv, nn.ReLU(), _Gate(mask), nn.AdaptiveAvgPool2d(1), nn.Flatten(), lin).eval()


def test_audit_separates_a_corner_shortcut_from_a_central_model() -> None:
    from netloupe.medical.audit import run_audit

    corner, _ = parse_region("corner:tr:4", (12, 12))
    centre, _ = parse_region("box:4,4,8,8", (12, 12))  # disjoint from the corner
    images = torch.rand(10, 1, 12, 12) + 0.05
    labels = torch.tensor([0, 1] * 5)
    shortcut = run_audit(_model_looking_at(corner), images, labels, corner, ["a", "b"], layer="2")
    fair = run_audit(_model_looking_at(centre), images, labels, corner, ["a", "b"], layer="2")
    # The shortcut model's maps live in the corner only (share 1); the central model's never touch it (0).
    assert torch.allclose(shortcut.shares, torch.ones(10), atol=1e-5)
    assert torch.allclose(fair.shares, torch.zeros(10), atol=1e-6)
    assert shortcut.overall["verdict"] == "shortcut likely"
    assert fair.overall["verdict"] == "no sign of a shortcut in this region"
    assert shortcut.fraction == pytest.approx(16 / 144)
    assert [r["class"] for r in shortcut.rows] == ["a", "b"]
