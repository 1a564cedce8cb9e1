from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from netloupe.cli import internals
from netloupe.errors import InputError


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    internals.register(app)
    return app


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    ).eval()
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    return path


@pytest.fixture
def patched_model(monkeypatch: pytest.MonkeyPatch) -> str:
    """The commands load models by name; serve a tiny nn.Module (hooks do not run inside TorchScript)."""
    from netloupe.models import load_model

    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    ).eval()
    monkeypatch.setattr(internals, "_load", lambda name, device: load_model(model))
    return "tiny"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for k, name in enumerate(("dark", "bright")):
        (root / name).mkdir(parents=True)
        for i in range(4):
            arr = np.clip(rng.normal(60 + 140 * k, 10, (12, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.png")
    return root


def test_filters_of_a_torchscript_file(app: typer.Typer, tiny_model: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["filters", "--model", str(tiny_model), "--out", str(tmp_path / "f")])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "f" / "filters.png").size[0] > 100


def test_features_and_neighbors(app: typer.Typer, patched_model: str, folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    feats = tmp_path / "feats" / "features.npz"
    res = runner.invoke(app, ["features", str(folder), "--model", patched_model, "--out", str(tmp_path / "feats")])
    assert res.exit_code == 0, res.output
    assert np.load(feats)["features"].shape == (8, 4)
    res = runner.invoke(
        app,
        [
            "neighbors",
            str(folder),
            "--features",
            str(feats),
            "-k",
            "2",
            "--queries",
            "2",
            "--out",
            str(tmp_path / "n"),
        ],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "n" / "neighbors.json").read_text())
    assert metrics["pixel_knn_accuracy"] == 1.0  # dark vs bright is obvious in pixel space
    assert (tmp_path / "n" / "neighbors.png").exists()


def test_embed_with_too_few_points_for_the_perplexity(
    app: typer.Typer, patched_model: str, folder: Path, tmp_path: Path
) -> None:
    res = CliRunner().invoke(
        app, ["embed", str(folder), "--model", patched_model, "--out", str(tmp_path / "e")]
    )
    assert isinstance(res.exception, InputError)
    assert "perplexity 30" in str(res.exception)
    assert "got 8" in str(res.exception)
    res = CliRunner().invoke(
        app,
        [
            "embed",
            str(folder),
            "--model",
            patched_model,
            "--method",
            "pca",
            "--grid",
            "4",
            "--thumb",
            "8",
            "--out",
            str(tmp_path / "e"),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = (tmp_path / "e" / "pca_coords.csv").read_text().splitlines()
    assert rows[0] == "name,x,y,label,label_name"
    assert len(rows) == 9


def test_activations_on_a_layer_without_spatial_output(
    app: typer.Typer, patched_model: str, folder: Path, tmp_path: Path
) -> None:
    image = next((folder / "dark").iterdir())
    res = CliRunner().invoke(
        app,
        [
            "activations",
            str(image),
            "--layer",
            "4",
            "--model",
            patched_model,
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert isinstance(res.exception, InputError)
    assert "no spatial extent" in str(res.exception)
    res = CliRunner().invoke(
        app,
        [
            "activations",
            str(image),
            "--layer",
            "1",
            "--model",
            patched_model,
            "--n-maps",
            "4",
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    "args",
    [
        ["filters"],
        ["activations", "IMAGE", "--layer", "1"],
        ["features", "FOLDER"],
        ["neighbors", "FOLDER"],
        ["embed", "FOLDER", "--method", "pca"],
        ["dissect", "FOLDER", "--layer", "1"],
    ],
)
def test_out_is_always_a_folder(
    app: typer.Typer, tiny_model: Path, folder: Path, tmp_path: Path, args: list[str]
) -> None:
    """--out names a folder for every command; a file name is refused before any work, nothing written."""
    image = next((folder / "dark").iterdir())
    args = [str(image) if a == "IMAGE" else str(folder) if a == "FOLDER" else a for a in args]
    for bad in (tmp_path / "x.png", tmp_path / "y.npz"):
        res = CliRunner().invoke(app, [*args, "--model", str(tiny_model), "--out", str(bad)])
        assert isinstance(res.exception, InputError), res.output
        assert str(res.exception).startswith("--out: expected a folder (this command writes ")
        assert "looks like a file name" in str(res.exception)
        assert not bad.exists()
    existing = tmp_path / "existing"
    existing.write_text("keep me")
    res = CliRunner().invoke(app, [*args, "--model", str(tiny_model), "--out", str(existing)])
    assert isinstance(res.exception, InputError)
    assert "got the file" in str(res.exception)
    assert existing.read_text() == "keep me"


def test_filters_without_png_suffix_writes_into_that_folder(app: typer.Typer, tiny_model: Path, tmp_path: Path) -> None:
    """`filters --out x` used to crash in matplotlib (no format from the name); x is now a folder."""
    res = CliRunner().invoke(app, ["filters", "--model", str(tiny_model), "--out", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "x" / "filters.png").format == "PNG"


def test_every_out_option_says_folder_in_its_help(app: typer.Typer) -> None:
    for command in ("filters", "activations", "features", "neighbors", "embed", "dissect"):
        res = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert "--out" in res.output and "output folder" in res.output, command
        assert "--out-dir" not in res.output and "--json" not in res.output
