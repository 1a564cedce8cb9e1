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


def test_caption_and_benchmark_sections_render_committed_results(tmp_path: Path) -> None:
    from netloupe.demo import run_demo
    from netloupe.demo.section_benchmarks import results_dir

    if not (results_dir() / "cpu.json").is_file():
        pytest.skip("no committed benchmark results in this checkout")
    html = run_demo(
        tmp_path, sections=["netloupe.demo.section_caption", "netloupe.demo.section_benchmarks"]
    ).read_text()
    assert "Speed, side by side" in html and "pytorch-grad-cam" in html
    assert "Captions and wearables" in html and "macro-F1" in html
