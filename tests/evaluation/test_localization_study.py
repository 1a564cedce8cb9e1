"""The localization runner and the ``netloupe localize`` command on a tiny synthetic dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from netloupe.evaluation.studies.localization import run_localization, write_tables
from netloupe.io.annotations import read_localization_dataset
from netloupe.models.preprocess import ImagePreprocess
from netloupe.models.zoo import LoadedModel


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)
    ).eval()


def make_dataset(root: Path) -> None:
    (root / "images").mkdir(parents=True)
    g = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(g.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / "images" / f"{i}.png")
    (root / "labels.csv").write_text("image,class_index\n0.png,0\n1.png,1\n2.png,2\n3.png,0\n")
    # 0 and 2: whole image (the centred box overlaps it by > 0.5); 1 and 3: a corner box (missed)
    (root / "boxes.csv").write_text(
        "image,x0,y0,x1,y1\n0.png,0,0,32,32\n1.png,0,0,4,4\n2.png,0,0,32,32\n3.png,28,28,32,32\n3.png,0,0,40,4\n"
    )


def _loaded() -> LoadedModel:
    return LoadedModel("tiny", tiny_model(), ImagePreprocess(size=(32, 32)), ["a", "b", "c"])


TINY_ZOO_NAME = "tiny-test-localize"


def register_tiny() -> str:
    """A zoo entry with 16x16 preprocessing, so that CLI tests stay fast."""
    from netloupe.models.zoo import ZooEntry, available_models, register_model

    if TINY_ZOO_NAME not in available_models():
        register_model(
            ZooEntry(
                TINY_ZOO_NAME,
                "tiny test model",
                lambda: LoadedModel(TINY_ZOO_NAME, tiny_model(), ImagePreprocess(size=(16, 16)), list("abc")),
            )
        )
    return TINY_ZOO_NAME


def test_runner_centre_baseline_and_subset(tmp_path: Path) -> None:
    make_dataset(tmp_path / "ds")
    ds = read_localization_dataset(tmp_path / "ds")
    assert len(ds.items) == 3
    assert "3.png" in ds.skipped[0]
    report = run_localization(
        _loaded(),
        ds.items,
        ["cam", "gradcam", "scorecam", "center", "random"],
        batch_size=2,
        scorecam_subset=2,
        example_dir=tmp_path / "out",
    )
    assert report.full["center"]["gt_known_loc_error"] == pytest.approx(1 / 3)
    assert report.full["center"]["n"] == 3
    assert "scorecam" not in report.full
    assert report.subset["scorecam"]["n"] == 2
    assert all(report.subset[m]["n"] == 2 for m in report.subset)
    # CAM and Grad-CAM coincide for a GAP + linear head (Selvaraju et al. 2017), so do their metrics
    assert report.full["cam"]["gt_known_loc_error"] == report.full["gradcam"]["gt_known_loc_error"]
    paths = write_tables(report, tmp_path / "out", "loc", {"note": "test"})
    md = paths[0].read_text()
    assert "| center | 3 |" in md
    assert "GT-known loc err (%)" in md
    assert "33.3" in md
    data = json.loads(paths[2].read_text())
    assert data["meta"] == {"note": "test"}
    assert data["subset_size"] == 2
    assert (tmp_path / "out" / "examples.png").stat().st_size > 1000


def test_runner_with_masks_reports_mask_metrics(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(2):
        Image.fromarray(np.full((24, 30, 3), 100 + i, np.uint8)).save(root / "images" / f"{i}.png")
        m = np.zeros((24, 30), np.uint8)
        m[6:18, 8:22] = 1  # the centre: the Gaussian baseline points inside
        Image.fromarray(m * 255).save(root / "masks" / f"{i}.png")
    (root / "labels.csv").write_text("image,label,mask\n0.png,0,0.png\n1.png,1,1.png\n")
    ds = read_localization_dataset(root, label_column="label")
    report = run_localization(_loaded(), ds.items, ["center"], maxboxacc=False)
    r = report.full["center"]
    assert r["pointing_game"] == 1.0
    assert 0.3 < r["energy_in_mask"] < 1.0
    assert 0.0 < r["pxap"] <= 1.0


def test_cli_localize(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from netloupe.cli.main import app

    make_dataset(tmp_path / "ds")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "localize",
            str(tmp_path / "ds"),
            "--model",
            register_tiny(),
            "--method",
            "gradcam,center",
            "--out",
            str(out),
            "--subset",
            "2",
            "--device",
            "cpu",
            "--maxboxacc-step",
            "0.1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "3.png" in res.output
    assert "lies outside the image" in res.output
    assert {p.name for p in out.iterdir()} >= {
        "localization.md",
        "localization.csv",
        "localization.json",
        "examples.png",
    }
    out2 = tmp_path / "out2"
    args = ["localize", str(tmp_path / "ds"), "--model", register_tiny(), "--method", "center", "--out", str(out2)]
    res = CliRunner().invoke(app, [*args, "--only-subset", "--subset", "2", "--device", "cpu", "--no-maxboxacc"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out2 / "localization.json").read_text())["meta"]
    assert meta["items"] == 2
    res = CliRunner().invoke(app, ["localize", str(tmp_path / "ds"), "--method", "gradcamm", "--out", str(out)])
    assert res.exit_code != 0
