"""The faithfulness / sanity runner and ``netloupe evaluate`` on a tiny synthetic dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tests.evaluation.test_localization_study import make_dataset, register_tiny, tiny_model
from torch import nn

from netloupe.evaluation.studies.faithfulness import default_randomization_groups, run_evaluation, write_evaluation
from netloupe.io.annotations import read_localization_dataset
from netloupe.models.preprocess import ImagePreprocess
from netloupe.models.zoo import LoadedModel


def test_default_groups_split_block_containers() -> None:
    model = nn.Sequential()
    model.add_module("stem", nn.Conv2d(3, 4, 1))
    model.add_module("blocks", nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 1)))
    model.add_module("pool", nn.AdaptiveAvgPool2d(1))
    model.add_module("head", nn.Linear(4, 2))
    assert default_randomization_groups(model) == ["head", "blocks.2", "blocks.0", "stem"]


def test_evaluation_runner(tmp_path: Path) -> None:
    make_dataset(tmp_path / "ds")
    ds = read_localization_dataset(tmp_path / "ds")
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loaded = LoadedModel("tiny", model, ImagePreprocess(size=(16, 16)), ["a", "b", "c"])
    report = run_evaluation(loaded, ds.items, ["gradcam", "random", "sobel"], steps=4, sanity_images=2)
    assert report.n_images == 3
    for m in ("gradcam", "random", "sobel"):
        r = report.faithfulness[m]
        assert 0 <= r["deletion_auc"] <= 1
        assert 0 <= r["average_drop"] <= 100
    # model-independent baselines do not change when the model is randomised: rho = 1 exactly
    assert report.sanity["random"]["cascading"] == pytest.approx([1.0] * len(report.sanity_layers))
    assert report.sanity["sobel"]["independent"] == pytest.approx([1.0] * len(report.sanity_layers))
    assert min(report.sanity["gradcam"]["cascading"]) < 0.99
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    paths = write_evaluation(report, tmp_path / "out", {"x": 1})
    names = {p.name for p in paths}
    assert names == {
        "evaluation.md",
        "evaluation.csv",
        "evaluation.json",
        "deletion_insertion.png",
        "sanity_randomization.png",
    }
    assert json.loads((tmp_path / "out" / "evaluation.json").read_text())["sanity_layers"] == ["4", "0"]
    assert "| gradcam | 3 |" in (tmp_path / "out" / "evaluation.md").read_text()


def test_cli_evaluate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from netloupe.cli.main import app

    make_dataset(tmp_path / "ds")
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(tmp_path / "ds"),
            "--model",
            register_tiny(),
            "--method",
            "gradcam,center",
            "--out",
            str(tmp_path / "out"),
            "--limit",
            "2",
            "--steps",
            "3",
            "--sanity-images",
            "1",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "evaluation.md").exists()
