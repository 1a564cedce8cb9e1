"""Feedback when output is not a terminal: plain progress lines, no hard wrap; --threads; pass progress."""

from __future__ import annotations

import io

import pytest
import torch
from rich.console import Console
from rich.progress import Progress

from netloupe._progress import PlainProgress, pass_callback, progress_bar, track
from netloupe.cli._console import _Console
from netloupe.cli._options import set_threads
from netloupe.errors import InputError


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_plain_progress_prints_count_elapsed_and_eta() -> None:
    out, clock = io.StringIO(), _Clock()
    bar = PlainProgress(file=out, min_interval=5.0, clock=clock)
    with bar:
        task = bar.add_task("explaining", total=10)
        for _ in range(10):
            clock.t += 2.0
            bar.advance(task)
    lines = out.getvalue().splitlines()
    # first step, then one line per 5 s (every third 2-second step), then the last step
    assert lines[0] == "explaining: 1/10 (10%), 2 s elapsed, eta 18 s"
    assert lines[1] == "explaining: 4/10 (40%), 8 s elapsed, eta 12 s"
    assert lines[-1] == "explaining: 10/10 (100%), 20 s elapsed"
    assert lines[2] == "explaining: 7/10 (70%), 14 s elapsed, eta 6 s"
    assert len(lines) == 4


def test_progress_bar_is_plain_off_a_terminal_and_rich_on_one() -> None:
    assert isinstance(progress_bar(Console(file=io.StringIO())), PlainProgress)
    assert isinstance(progress_bar(Console(file=io.StringIO(), force_terminal=True)), Progress)


def test_track_prints_lines_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(track(range(3), 3, "features", enabled=True)) == [0, 1, 2]
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("features: 1/3 (33%)")
    assert err[-1].startswith("features: 3/3 (100%)")


def test_pass_callback_shows_passes_done_of_the_engines_total() -> None:
    out, clock = io.StringIO(), _Clock()
    bar = PlainProgress(file=out, min_interval=0.0, clock=clock)
    on_pass = pass_callback(bar, "score-cam passes")
    for done in (32, 64, 96):
        clock.t += 4.0
        on_pass(done, 96)
    assert out.getvalue().splitlines() == [
        "score-cam passes: 32/96 (33%), 4 s elapsed, eta 8 s",
        "score-cam passes: 64/96 (67%), 8 s elapsed, eta 4 s",
        "score-cam passes: 96/96 (100%), 12 s elapsed",
    ]


def test_console_does_not_hard_wrap_when_not_a_terminal() -> None:
    long = "wrote " + "/very/long/path" * 20 + "/manifest.json"
    plain = Console(file=io.StringIO(), width=80)
    plain.print(long)
    assert len(plain.file.getvalue().splitlines()) > 1  # what rich does by default
    ours = _Console(file=io.StringIO(), width=80)
    ours.print(long)
    assert ours.file.getvalue() == long + "\n"
    tty = _Console(file=io.StringIO(), width=80, force_terminal=True)
    assert tty.soft_wrap is False


def test_set_threads() -> None:
    before = torch.get_num_threads()
    try:
        assert set_threads(None) == before
        assert set_threads(1) == 1
        assert torch.get_num_threads() == 1
        with pytest.raises(InputError, match="--threads: expected a whole number >= 1, got 0"):
            set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_demo_takes_threads(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    import netloupe.demo
    from netloupe.cli.main import app

    seen: list[int] = []
    monkeypatch.setattr(netloupe.demo, "run_demo", lambda out, **kw: seen.append(torch.get_num_threads()) or out)
    before = torch.get_num_threads()
    try:
        res = CliRunner().invoke(app, ["demo", "--threads", "1", "--out", str(tmp_path)])
        assert res.exit_code == 0, res.output
        assert seen == [1]
        res = CliRunner().invoke(app, ["demo", "--threads", "0", "--out", str(tmp_path)])
        assert res.exit_code != 0
    finally:
        torch.set_num_threads(before)
