"""The demo's video section builds from the shipped video models alone."""

from __future__ import annotations

from importlib import resources

import pytest

from netloupe.demo.runner import DemoContext
from netloupe.demo.section_video import build

_DATA = resources.files("netloupe.models").joinpath("data")
_SHIPPED = _DATA.joinpath("video_cnn_lstm.pt").is_file() and _DATA.joinpath("video_conv3d.pt").is_file()


@pytest.mark.skipif(not _SHIPPED, reason="the shipped video models are absent")
def test_section_builds(fast_context: DemoContext) -> None:
    section = build(fast_context)
    assert section is not None
    assert section.body.count("data:image/png;base64,") == 1
    assert section.body.count("<tr>") >= 3  # header + one row per model
