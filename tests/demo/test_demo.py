"""`netloupe demo` writes one self-contained report that opens offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netloupe.cli.main import main


def test_demo_report_is_self_contained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--fast", "--out", str(tmp_path), "--device", "cpu"])
    assert exc.value.code == 0, capsys.readouterr().err
    html = (tmp_path / "report.html").read_text()
    assert "Where the network looks" in html and "Egyptian cat" in html
    sources = re.findall(r"""(?:src|href)=['"]([^'"#][^'"]*)['"]""", html)
    assert sources and all(s.startswith("data:") for s in sources), [
        s[:40] for s in sources if not s.startswith("data:")
    ]
    assert "<script src" not in html and "@import" not in html
