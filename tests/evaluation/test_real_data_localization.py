"""Real data (slow; needs ../shared/data): the WSOL ImageNet subset and PH2 read cleanly and score sanely."""

from __future__ import annotations

from pathlib import Path

import pytest

from netloupe.io.annotations import read_localization_dataset

pytestmark = pytest.mark.slow


def test_imagenet_subset_reads_without_skips(shared_data: Path) -> None:
    ds = read_localization_dataset(shared_data / "imagenet-val-wsol-subset", boxes="boxes_227.csv")
    assert len(ds.items) == 1300
    assert ds.skipped == []
    assert sum(len(it.boxes) for it in ds.items) == 1943  # PROVENANCE.md: 1,943 boxes


def test_ph2_reads_with_masks(shared_data: Path) -> None:
    ds = read_localization_dataset(shared_data / "ph2-dermoscopy", label_column="is_melanoma")
    assert len(ds.items) == 200
    assert ds.has_masks
    assert sum(it.label for it in ds.items) == 40  # 40 melanomas


def test_gradcam_beats_random_on_a_few_imagenet_images(shared_data: Path) -> None:
    import torch

    import netloupe
    from netloupe.evaluation.studies.localization import run_localization

    torch.set_num_threads(1)
    ds = read_localization_dataset(shared_data / "imagenet-val-wsol-subset", boxes="boxes_227.csv")
    report = run_localization(netloupe.load_model(), ds.items[:16], ["gradcam", "random"], maxboxacc=False)
    assert report.full["gradcam"]["pointing_game"] > report.full["random"]["pointing_game"]
