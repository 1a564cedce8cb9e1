from __future__ import annotations

from pathlib import Path

import pytest
import torch

from netloupe.demo import section_internals
from netloupe.demo.runner import DemoContext


@pytest.mark.slow
def test_internals_section_builds_offline(tmp_path: Path) -> None:
    logs: list[str] = []
    ctx = DemoContext(out_dir=tmp_path, device=torch.device("cpu"), fast=True, log=logs.append)
    section = section_internals.build(ctx)
    assert section is not None
    assert section.body.count("<img src='data:image/png;base64,") >= 5
    assert "unit 0 -&gt; square" in section.body and "unit 1 -&gt; circle" in section.body
    assert any(line.startswith("internals demo:") for line in logs)
