"""Shared fixtures: deterministic seeds, tiny models, the shared real-data folder (skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from netloupe._paths import shared_data_dir

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that use it are skipped when it is not there."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("real data folder ../shared/data (or $NETLOUPE_DATA) is absent")
    return path
