"""The demo's translation section builds from the shipped translator alone."""

from __future__ import annotations

from importlib import resources

import pytest

from netloupe.demo.runner import DemoContext
from netloupe.demo.section_translate import build

_SHIPPED = resources.files("netloupe.models").joinpath("data/date_translator.pt").is_file()


@pytest.mark.skipif(not _SHIPPED, reason="the shipped date translator is absent")
def test_section_builds(fast_context: DemoContext) -> None:
    section = build(fast_context)
    assert section is not None
    assert section.body.count("data:image/png;base64,") == 2
    assert "1999-03-16 (correct" in section.body
