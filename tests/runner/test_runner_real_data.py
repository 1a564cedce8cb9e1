"""The runner on real ImageNet images (slow; needs ../shared/data): CSV labels, maps equal explain_images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import netloupe
from netloupe.pipeline import explain_images
from netloupe.runner import run_dataset


@pytest.mark.slow
def test_imagenet_csv_run_matches_explain_images(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "imagenet-val-wsol-subset"
    loaded = netloupe.load_model()
    summary = run_dataset(
        folder / "labels.csv",
        loaded,
        ["gradcam", "layercam"],
        tmp_path,
        root=folder / "images",
        limit=16,
        top_k=1,
        batch_size=8,
        workers=1,
    )
    assert (summary.done, summary.failed) == (16, [])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    images = manifest["items"]
    hits = sum(int(im["label"]) == im["predictions"][0]["class_index"] for im in images)
    assert hits >= 10  # EfficientNet-Lite0 is ~75% top-1 on ImageNet val: 16 images, at least 10 right
    ref = explain_images([im["source"] for im in images], netloupe.load_model(), ["gradcam", "layercam"], top_k=1)
    for im, res in zip(images, ref.results, strict=True):
        assert im["predictions"][0]["class_index"] == res.class_ids[0]
        with np.load(tmp_path / im["id"] / "maps.npz") as z:
            for m in ("gradcam", "layercam"):
                np.testing.assert_allclose(z[m], res.maps[m], atol=1e-4)
