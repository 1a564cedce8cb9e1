"""Real-data checks (slow; skipped without ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from netloupe.internals import compare_spaces, extract_features, load_image_set, pixel_vectors
from netloupe.models import load_model


@pytest.mark.slow
def test_pneumoniamnist_feature_space_beats_pixel_space(shared_data: Path) -> None:
    torch.set_num_threads(1)
    images = load_image_set(shared_data / "pneumoniamnist" / "pneumoniamnist.npz", split="test")
    loaded = load_model("pneumonia-tinycnn")
    fs = extract_features(loaded.model, images, loaded.preprocess, batch_size=128)
    comp = compare_spaces(fs.features, pixel_vectors(images, (28, 28)), images.labels, k=5)
    # measured 0.936 vs 0.896 (results/internals/pneumoniamnist_knn.json)
    assert comp.feature_accuracy > comp.pixel_accuracy + 0.02
    assert comp.feature_accuracy > 0.9
