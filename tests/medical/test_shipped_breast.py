"""The shipped breast-cnn: its recorded test numbers are what its weights give on the official test split."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import torch

from netloupe.medical.train import binary_auc, evaluate, recipe


def _info() -> dict[str, object]:
    path = resources.files("netloupe.models").joinpath("data/breast_cnn.json")
    if not path.is_file():
        pytest.skip("breast_cnn.json not shipped")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_recipe_is_the_swa_recipe_that_trained_the_weights() -> None:
    info = _info()
    cfg = info["config"]
    assert isinstance(cfg, dict)
    r = recipe("breastmnist")
    assert (r.select, r.epochs, r.batch_size, r.swa_start) == (
        cfg["select"],
        cfg["epochs"],
        cfg["batch_size"],
        cfg["swa_start"],
    )


def test_shipped_weights_reach_the_recorded_auc_on_the_official_test_split(shared_data: Path) -> None:
    from netloupe.medical.medmnist import load_split
    from netloupe.models.zoo import load_model

    npz = shared_data / "breastmnist" / "breastmnist.npz"
    if not npz.is_file():
        pytest.skip("breastmnist.npz absent")
    info = _info()
    torch.set_num_threads(1)
    model = load_model("breast-cnn").model.eval()
    test = load_split("breastmnist", "test", npz)
    scores = evaluate(model, test)
    recorded = info["test"]
    assert isinstance(recorded, dict)
    assert scores["auc"] == pytest.approx(recorded["auc"], abs=1e-4)
    assert scores["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-4)
    # 0.9096 when measured: better than the previous weights (0.8966), short of the 0.91 target
    assert scores["auc"] > 0.8966
    # the AUC is P(score of a positive > score of a negative): recompute it by counting pairs
    with torch.no_grad():
        p = torch.softmax(model((test.images - 0.5) / 0.5), 1)[:, 1]
    pos, neg = p[test.labels == 1], p[test.labels == 0]
    pairs = sum(float((a > neg).sum() + 0.5 * (a == neg).sum()) for a in pos) / (len(pos) * len(neg))
    assert pairs == pytest.approx(scores["auc"], abs=1e-4) and pairs == pytest.approx(binary_auc(p, test.labels))
