"""The audit command, the medical demo section and the shipped model's real-data numbers."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch


def _weights_present(stem: str) -> bool:
    return resources.files("netloupe.models").joinpath(f"data/{stem}.pt").is_file()


needs_pneumonia = pytest.mark.skipif(not _weights_present("pneumonia_cnn"), reason="pneumonia_cnn.pt not trained")


@needs_pneumonia
def test_audit_command_on_a_medmnist_style_file(tmp_path: Path) -> None:
    from netloupe.cli.main import main

    rng = np.random.default_rng(0)
    npz = tmp_path / "pneumoniamnist_small.npz"
    np.savez(
        npz,
        test_images=rng.integers(0, 255, (6, 28, 28), dtype=np.uint8),
        test_labels=np.array([[0], [1], [0], [1], [0], [1]], dtype=np.uint8),
    )
    out = tmp_path / "audit"
    with pytest.raises(SystemExit) as exc:
        main(["audit", str(npz), "--region", "corner:tr:7", "--model", "pneumonia-cnn", "--out", str(out)])
    assert exc.value.code in (0, None)
    report = json.loads((out / "audit.json").read_text())
    assert report["area_fraction"] == pytest.approx(49 / 784, abs=1e-4)
    assert [r["class"] for r in report["per_class"]] == ["normal", "pneumonia"]
    assert (out / "examples.png").stat().st_size > 1000


@needs_pneumonia
def test_demo_section_builds_offline(tmp_path: Path) -> None:
    from netloupe.demo.runner import DemoContext
    from netloupe.demo.section_medical import build

    section = build(DemoContext(out_dir=tmp_path, device=torch.device("cpu"), fast=True))
    assert section is not None
    assert "data:image/png;base64," in section.body and "pneumonia" in section.body


@pytest.mark.slow
@needs_pneumonia
def test_pneumonia_model_meets_its_targets_on_the_official_test_split(shared_data: Path) -> None:
    from netloupe.medical.medmnist import load_split
    from netloupe.medical.train import evaluate
    from netloupe.models.zoo import load_model

    test = load_split("pneumoniamnist", "test", shared_data / "pneumoniamnist" / "pneumoniamnist.npz")
    metrics = evaluate(load_model("pneumonia-cnn").model, test)
    assert metrics["auc"] >= 0.96
    assert metrics["accuracy"] >= 0.88
