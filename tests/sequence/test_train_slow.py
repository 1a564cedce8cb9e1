"""One-command training of each task (slow: real data, minutes on one CPU thread; `make evaluate`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from netloupe.cli.seq import register
from netloupe.sequence.checkpoint import load_bundle
from netloupe.sequence.recipes import run_task


@pytest.mark.slow
def test_cli_train_digits(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    res = CliRunner().invoke(app, ["seq", "train", "digits", "--out", str(tmp_path), "--epochs", "15"])
    assert res.exit_code == 0, res.output
    bundle = load_bundle(tmp_path / "digits.pt")
    assert bundle.metrics["accuracy"] > 80.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "key", "target"), [("ecg200-cnn", "accuracy", 85.0), ("sentiment", "accuracy", 78.0)]
)
def test_recipes_reach_their_scores(shared_data: Path, task: str, key: str, target: float) -> None:
    folder = {"ecg200-cnn": "ecg200", "sentiment": "sentiment-labelled-sentences"}[task]
    result = run_task(task, shared_data / folder)
    assert result.metrics[key] >= target
