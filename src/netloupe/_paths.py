"""Where the project's shared real datasets live (never downloaded; read from a path)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_data_dir"]


def shared_data_dir() -> Path | None:
    """The folder of real datasets: ``$NETLOUPE_DATA``, else ``shared/data`` beside a parent folder.

    Returns None when neither exists (tests that need real data then skip).
    """
    env = os.environ.get("NETLOUPE_DATA")
    if env:
        path = Path(env)
        return path if path.is_dir() else None
    for base in [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[2]]:
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None
