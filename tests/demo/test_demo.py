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


def test_benchmark_section_comes_from_the_package_and_says_when_it_was_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed netloupe has no results/ folder: the speed section must still be there, marked as recorded."""
    import json

    from netloupe.demo import run_demo

    monkeypatch.chdir(tmp_path)  # nothing from a checkout is reachable by a relative path
    html = run_demo(tmp_path, sections=["netloupe.demo.section_benchmarks"]).read_text()
    assert "Speed, side by side (recorded)" in html and "pytorch-grad-cam" in html
    assert "Recorded, not measured now" in html
    assert "AMD EPYC (2 cores), torch 2.14.1+cu130, 2 threads on 2026-12-02 13:31 UTC" in html
    assert "alt='CPU benchmark recorded on" in html
    shipped = Path(__file__).resolve().parents[2] / "src" / "netloupe" / "demo" / "data" / "benchmarks_cpu.json"
    committed = Path(__file__).resolve().parents[2] / "results" / "benchmarks" / "cpu.json"
    if committed.is_file():  # the shipped copy is the committed result, not a stale one
        assert json.loads(shipped.read_text()) == json.loads(committed.read_text())


def test_a_section_whose_extra_is_missing_is_listed_with_its_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    from netloupe._optional import require
    from netloupe.demo import run_demo

    fake = types.ModuleType("netloupe_fake_section", "Demo section: a view that needs a missing package.")

    def build(ctx: object) -> None:
        require("netloupe_no_such_package", "this view")

    fake.build = build  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "netloupe_fake_section", fake)
    logged: list[str] = []
    html = run_demo(tmp_path, sections=["netloupe_fake_section"], log=logged.append).read_text()
    assert "Not in this report" in html
    assert "a view that needs a missing package: this view needs netloupe_no_such_package" in html
    assert "pip install netloupe_no_such_package" in html
    assert logged == [
        "a view that needs a missing package: not in the report "
        "(this view needs netloupe_no_such_package: pip install netloupe_no_such_package)"
    ]
