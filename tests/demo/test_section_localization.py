"""The localization demo section builds offline and reports an IoU per method."""

from __future__ import annotations

from netloupe.demo.runner import DemoContext
from netloupe.demo.section_localization import COFFEE_CUP_BOX, build


def test_section_builds_with_boxes_and_iou(fast_context: DemoContext) -> None:
    section = build(fast_context)
    assert section.title.startswith("Localization")
    assert "data:image/png;base64," in section.body
    assert "IoU with true box" in section.body
    assert "gradcam" in section.body
    assert "cam" in section.body
    x0, y0, x1, y1 = COFFEE_CUP_BOX
    assert 0 <= x0 < x1 <= 600
    assert 0 <= y0 < y1 <= 400
