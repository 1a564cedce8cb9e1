"""kill -9, Ctrl-C and SIGTERM in the middle of a run leave a consistent state; a re-run completes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.runner._job import make_images
from tests.runner.test_runner import _assert_consistent, _manifest, _run

JOB = Path(__file__).with_name("_job.py")
N_IMAGES = 14


def _start(dataset: Path, out: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    cmd = [sys.executable, str(JOB), str(dataset), str(out), "--slow", "0.25", "--workers", str(workers)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_journal(proc: subprocess.Popen[bytes], journal: Path, lines: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= lines:
            return
        if proc.poll() is not None:
            pytest.fail(f"the job ended before it could be interrupted: {proc.stderr.read().decode()[-800:]}")  # type: ignore[union-attr]
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the job wrote no journal lines in time")


def _assert_same_maps(a: Path, b: Path) -> None:
    ids = sorted(im["id"] for im in _manifest(a)["items"])
    assert ids == sorted(im["id"] for im in _manifest(b)["items"]) and len(ids) == N_IMAGES
    for i in ids:
        with np.load(a / i / "maps.npz") as za, np.load(b / i / "maps.npz") as zb:
            for key in za.files:
                np.testing.assert_allclose(za[key], zb[key], atol=1e-5)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("clean")
    make_images(base / "data", N_IMAGES)
    _run(base / "data", base / "out", batch_size=2)
    return base / "data", base / "out"


def test_kill_9_mid_run_then_rerun_completes(clean_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, reference = clean_run
    out = tmp_path / "out"
    proc = _start(data, out, workers=0)
    _wait_for_journal(proc, out / "journal.jsonl", lines=4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = sum('"done"' in line for line in (out / "journal.jsonl").read_text().splitlines())
    assert 4 <= done_before < N_IMAGES
    _assert_consistent(out)
    summary = _run(data, out, batch_size=2)
    assert (summary.skipped, summary.done, summary.pending) == (done_before, N_IMAGES - done_before, 0)
    manifest = _manifest(out)
    assert manifest["complete"] and manifest["counts"]["done"] == N_IMAGES
    assert not list(out.rglob("*.part"))  # stale temporaries of the killed run are gone
    _assert_same_maps(out, reference)


@pytest.mark.parametrize("signum", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)])
def test_signal_stops_cleanly_with_a_manifest(clean_run: tuple[Path, Path], tmp_path: Path, signum: int) -> None:
    data, reference = clean_run
    out = tmp_path / "out"
    proc = _start(data, out, workers=2)  # DataLoader workers must not die noisily on Ctrl-C
    _wait_for_journal(proc, out / "journal.jsonl", lines=2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()[-800:]
    assert b"Traceback" not in err
    manifest = _manifest(out)
    assert not manifest["complete"] and 2 <= manifest["counts"]["done"] < N_IMAGES
    journal_ids = {json.loads(x)["id"] for x in (out / "journal.jsonl").read_text().splitlines()}
    assert {im["id"] for im in manifest["items"]} == journal_ids
    _assert_consistent(out)
    summary = _run(data, out, batch_size=2)
    assert summary.skipped == manifest["counts"]["done"] and _manifest(out)["complete"]
    _assert_same_maps(out, reference)
