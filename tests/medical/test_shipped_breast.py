"""The shipped breast-cnn: the committed recipe trained it, and its recorded numbers are what its weights give."""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import pytest
import torch

from netloupe.medical.train import auc_standard_error, binary_auc, evaluate, recipe


def _info() -> dict[str, object]:
    path = resources.files("netloupe.models").joinpath("data/breast_cnn.json")
    if not path.is_file():
        pytest.skip("breast_cnn.json not shipped")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_recipe_is_the_one_that_trained_the_weights() -> None:
    info = _info()
    assert info["config"] == asdict(recipe("breastmnist"))  # every option, the seed included
    command = "PYTHONPATH=src python -m netloupe medical train breastmnist --out src/netloupe/models/data"
    assert info["command"] == command


def test_shipped_weights_are_small_and_the_head_is_cam_ready() -> None:
    from netloupe.cam import explain
    from netloupe.models.zoo import load_model

    _info()
    weights = resources.files("netloupe.models").joinpath("data/breast_cnn.pt")
    assert weights.stat().st_size < 400_000  # a few hundred KB
    model = load_model("breast-cnn").model.eval()
    x = torch.rand(2, 1, 28, 28)
    raw = {"upsample": False, "normalize": False, "relu": False}
    res = explain(model, x, ["cam", "gradcam"], targets=[0, 1], layer="features", **raw)
    h, w = res.maps["cam"].shape[-2:]
    # GAP + linear head: Grad-CAM's weights are the CAM weights divided by the number of cells
    torch.testing.assert_close(res.maps["cam"], h * w * res.maps["gradcam"], rtol=1e-4, atol=1e-5)


def test_shipped_weights_reach_the_recorded_auc_on_the_official_test_split(shared_data: Path) -> None:
    from netloupe.medical.medmnist import load_split
    from netloupe.models.zoo import load_model

    npz = shared_data / "breastmnist" / "breastmnist.npz"
    if not npz.is_file():
        pytest.skip("breastmnist.npz absent")
    info = _info()
    torch.set_num_threads(1)
    model = load_model("breast-cnn").model.eval()
    for split in ("val", "test"):
        data = load_split("breastmnist", split, npz)
        scores = evaluate(model, data)
        recorded = info[split]
        assert isinstance(recorded, dict)
        assert scores["auc"] == pytest.approx(recorded["auc"], abs=1e-4)
        assert scores["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-4)
    test = load_split("breastmnist", "test", npz)
    # the AUC is P(score of a positive > score of a negative): recompute it by counting pairs
    with torch.no_grad():
        p = torch.softmax(model((test.images - 0.5) / 0.5), 1)[:, 1]
    pos, neg = p[test.labels == 1], p[test.labels == 0]
    pairs = sum(float((a > neg).sum() + 0.5 * (a == neg).sum()) for a in pos) / (len(pos) * len(neg))
    assert pairs == pytest.approx(binary_auc(p, test.labels), abs=1e-12)
    recorded_test = info["test"]
    assert isinstance(recorded_test, dict)
    assert pairs == pytest.approx(recorded_test["auc"], abs=1e-4)
    # the recorded standard error is Hanley & McNeil's for this split (114 benign/normal, 42 malignant)
    assert (len(pos), len(neg)) == (114, 42)
    assert recorded_test["auc_se"] == pytest.approx(auc_standard_error(pairs, 114, 42), abs=1e-4)


@pytest.mark.slow
def test_the_committed_command_reproduces_the_shipped_weights(shared_data: Path, tmp_path: Path) -> None:
    from netloupe.cli.main import main

    npz = shared_data / "breastmnist" / "breastmnist.npz"
    if not npz.is_file():
        pytest.skip("breastmnist.npz absent")
    info = _info()
    with pytest.raises(SystemExit) as exc:
        main(["medical", "train", "breastmnist", "--data", str(npz), "--out", str(tmp_path)])
    assert exc.value.code in (0, None)
    fresh = json.loads((tmp_path / "breast_cnn.json").read_text())
    assert fresh["config"] == info["config"]
    # bit-identical on the machine that trained them; other CPUs' kernels may round differently
    assert fresh["test"]["auc"] == pytest.approx(info["test"]["auc"], abs=0.01)  # type: ignore[index]
    shipped = torch.load(str(resources.files("netloupe.models").joinpath("data/breast_cnn.pt")), weights_only=True)
    retrained = torch.load(str(tmp_path / "breast_cnn.pt"), weights_only=True)
    assert shipped.keys() == retrained.keys()
    for key, value in shipped.items():
        torch.testing.assert_close(retrained[key], value, rtol=1e-2, atol=1e-2)
