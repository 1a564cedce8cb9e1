"""`netloupe caption IMAGE --model synthetic_captioner.pt [--explain]` with the shipped attention captioner."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from netloupe.caption.synthetic import make_scenes
from netloupe.cli.caption import register


def test_caption_cli_reads_an_attention_checkpoint_and_writes_a_strip(tmp_path: Path) -> None:
    ckpt = resources.files("netloupe.models").joinpath("data/synthetic_captioner.pt")
    if not ckpt.is_file():
        pytest.skip("synthetic_captioner.pt not shipped")
    scene = make_scenes(1, seed=2)[0]  # first test scene: "a yellow circle below a red circle"
    image = tmp_path / "scene.png"
    scene.image().save(image)
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["caption", str(image), "--model", str(ckpt), "--beam", "1", "--explain"])
    assert res.exit_code == 0, res.output
    words = res.output.split("\n")[0].split()
    assert set(words) >= {"yellow", "red", "circle"}  # measured: "a red circle above a yellow circle"
    assert (tmp_path / "scene-caption.png").stat().st_size > 1000
    bad = CliRunner().invoke(app, ["caption", str(image), "--model", str(tmp_path / "none.pt")])
    assert bad.exit_code != 0
