"""``netloupe explain`` on DICOM/NIfTI: maps in the source geometry; a bad file is recorded and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from netloupe.models.preprocess import ImagePreprocess
from netloupe.models.zoo import LoadedModel

pytest.importorskip("netloupe.cam.engine")
nib = pytest.importorskip("nibabel")
DATA = Path(__file__).resolve().parents[1] / "data"


def _tiny() -> LoadedModel:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    ).eval()
    pre = ImagePreprocess(size=(32, 32), mean=(0.5,), std=(0.5,), channels=1)
    return LoadedModel("tiny", model, pre, ["a", "b"], target_layer="1")


def test_batch_writes_maps_in_source_geometry_and_records_failures(tmp_path: Path) -> None:
    from netloupe.medical.explain_files import explain_medical_files

    bad = tmp_path / "broken.nii"
    bad.write_bytes(b"\x00" * 10)
    records, failures = explain_medical_files(
        [DATA / "MR_small.dcm", bad, DATA / "anatomical.nii"], _tiny(), ["gradcam", "cam"], tmp_path / "out"
    )
    assert [Path(r["source"]).name for r in records] == ["MR_small.dcm", "anatomical.nii"]
    assert len(failures) == 1
    assert failures[0]["path"] == str(bad)
    assert "not a readable NIfTI" in failures[0]["error"]
    assert json.loads((tmp_path / "out" / "failures.json").read_text()) == failures
    mr = records[0]["files"]["gradcam"]
    back = nib.load(mr["nifti"])
    assert back.shape == (64, 64, 1)  # the DICOM grid, not the model's 32x32
    manifest = json.loads(Path(mr["manifest"]).read_text())
    assert manifest["spacing_mm"] == pytest.approx([0.3125, 0.3125])
    anat = json.loads(Path(records[1]["files"]["cam"]["manifest"]).read_text())
    assert anat["meta"]["slice_axis"] == 2  # a 2-D model sees the middle axial slice of the volume
    assert anat["meta"]["slice_index"] == 12
    slice_map = nib.load(records[1]["files"]["cam"]["nifti"])
    assert slice_map.shape == (33, 41, 1)
    volume = nib.load(DATA / "anatomical.nii")
    np.testing.assert_allclose(slice_map.affine @ [5, 6, 0, 1], volume.affine @ [5, 6, 12, 1], atol=1e-5)
    assert np.load(mr["map"]).shape == (64, 64)
