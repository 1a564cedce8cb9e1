"""`make demo` installs what the demo needs; dev tools and peer libraries only come with `make test`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry_run(target: str, tmp_path: Path, *assignments: str) -> str:
    """What `make TARGET` would run in a clean clone (a venv that does not exist yet)."""
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}", *assignments],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_demo_installs_the_base_package_only(tmp_path: Path) -> None:
    demo = _dry_run("demo", tmp_path)
    installs = [line for line in demo.splitlines() if "pip install" in line]
    assert any(line.rstrip().endswith("-e .") for line in installs), installs
    assert "[all" not in demo and "dev]" not in demo
    assert "--index-url" not in demo  # the default needs nothing but PyPI
    assert "netloupe demo --out netloupe-demo" in demo


def test_test_adds_extras_dev_tools_and_browser(tmp_path: Path) -> None:
    test = _dry_run("test", tmp_path)
    assert '-e ".[all,dev]"' in test
    assert "apt-get install -y -qq chromium" in test and "browser tests will be SKIPPED" in test
    assert test.strip().splitlines()[-1].endswith("-m pytest")
    for gate in ("lint", "typecheck"):
        assert '-e ".[all,dev]"' in _dry_run(gate, tmp_path)


def test_cpu_wheels_through_torch_index(tmp_path: Path) -> None:
    demo = _dry_run("demo", tmp_path, "TORCH_INDEX=https://download.pytorch.org/whl/cpu")
    torch_line = next(line for line in demo.splitlines() if "torch==" in line)
    assert "--index-url https://download.pytorch.org/whl/cpu torch==" in torch_line
    assert "--index-url" not in demo.replace(torch_line, "")  # netloupe itself still from PyPI
