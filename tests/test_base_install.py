"""A real base install (`pip install netloupe`, no extras) in a fresh virtual environment runs the main job.

Slow (it installs torch): run with ``pytest -m slow tests/test_base_install.py``. Extra pip arguments for
the torch download, e.g. CPU wheels, go in ``NETLOUPE_TEST_PIP_ARGS``
(``--extra-index-url https://download.pytorch.org/whl/cpu``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

#: Packages that must not come with the base install (extras, dev tools, peer libraries).
NOT_IN_BASE = {"pytest", "ruff", "mypy", "grad-cam", "torchcam", "captum", "ray", "fastapi", "pydicom", "opentsne"}


def _run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("base") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    extra = shlex.split(os.environ.get("NETLOUPE_TEST_PIP_ARGS", ""))
    res = _run([str(venv / "bin" / "pip"), "install", "--quiet", *extra, str(ROOT)], venv.parent, 3000)
    assert res.returncode == 0, res.stderr[-3000:]
    return venv


def test_base_install_has_no_extras(base_venv: Path) -> None:
    res = _run([str(base_venv / "bin" / "pip"), "list", "--format=freeze"], base_venv.parent, 120)
    installed = {line.split("==")[0].lower() for line in res.stdout.splitlines()}
    assert "netloupe" in installed and "scikit-learn" in installed
    assert not (installed & NOT_IN_BASE), installed & NOT_IN_BASE


def test_demo_writes_the_report_from_the_package_alone(base_venv: Path, tmp_path: Path) -> None:
    """Run outside the checkout: every section comes from the installed package, not from results/."""
    res = _run(
        [str(base_venv / "bin" / "netloupe"), "demo", "--fast", "--device", "cpu", "--out", "report"], tmp_path, 1800
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    for title in (
        "Where the network looks",
        "Inside the network",
        "Medical: chest X-rays",
        "Sequences: RNNs and LSTMs explained over time",
        "Speed, side by side (recorded)",
    ):
        assert f"<h2>{title}</h2>" in html, title
    assert "Egyptian cat" in html and "Recorded, not measured now" in html


def test_an_optional_import_gives_the_install_line(base_venv: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for k in ("a", "b"):
        (tmp_path / "data" / k).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "data" / k / f"{i}.png")
    res = _run(
        [str(base_venv / "bin" / "netloupe"), "embed", "data", "--method", "tsne", "--perplexity", "1", "-o", "e"],
        tmp_path,
        600,
    )
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == "error: t-SNE needs openTSNE: pip install 'netloupe[internals]'"
