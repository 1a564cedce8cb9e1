"""Demo-section tests: one fast, CPU-only, single-threaded context, torch's thread count restored after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from netloupe.demo.runner import DemoContext


@pytest.fixture
def fast_context(tmp_path: Path) -> Iterator[DemoContext]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the sections train/evaluate small models: one thread is fastest on a shared CPU
    try:
        yield DemoContext(out_dir=tmp_path, device=torch.device("cpu"), fast=True, log=lambda _: None)
    finally:
        torch.set_num_threads(before)
