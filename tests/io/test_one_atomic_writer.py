"""One atomic-write helper: no ad-hoc temporary-file-and-rename writers, and the helper keeps suffixes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netloupe.io.atomic import atomic_write

SRC = Path(__file__).resolve().parents[2] / "src" / "netloupe"
AD_HOC = re.compile(r"\bos\.replace\(|\btmp\w*\.replace\(|tempfile\.mkstemp\(")


def test_no_ad_hoc_atomic_writers_outside_io_atomic() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel == "io/atomic.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if AD_HOC.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "use netloupe.io.atomic:\n" + "\n".join(offenders)


def test_keep_suffix_lets_writers_pick_the_format_from_the_name(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    png = atomic_write(tmp_path / "f.png", lambda tmp: fig.savefig(tmp), keep_suffix=True)
    plt.close(fig)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    npz = atomic_write(tmp_path / "a.npz", lambda tmp: np.savez(tmp, x=np.arange(3)), keep_suffix=True)
    with np.load(npz) as z:
        assert z["x"].tolist() == [0, 1, 2]
    jpg = atomic_write(tmp_path / "i.jpg", lambda tmp: Image.new("RGB", (2, 2)).save(tmp), keep_suffix=True)
    assert Image.open(jpg).format == "JPEG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "f.png", "i.jpg"]  # no temporary left


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "x.nii.gz", fail, keep_suffix=True)
    assert list(tmp_path.iterdir()) == []
