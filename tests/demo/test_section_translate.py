"""The demo's translation section builds from the shipped translator alone."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import torch

from netloupe.demo.runner import DemoContext
from netloupe.demo.section_translate import build

_SHIPPED = resources.files("netloupe.models").joinpath("data/date_translator.pt").is_file()


@pytest.mark.skipif(not _SHIPPED, reason="the shipped date translator is absent")
def test_section_builds(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        section = build(DemoContext(out_dir=tmp_path, device=torch.device("cpu"), fast=True, log=lambda _: None))
    finally:
        torch.set_num_threads(before)
    assert section is not None
    assert section.body.count("data:image/png;base64,") == 2
    assert "1999-03-16 (correct" in section.body
