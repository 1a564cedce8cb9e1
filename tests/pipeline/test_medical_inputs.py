"""DICOM/NIfTI through the explain job: maps back in the source geometry; a bad file is recorded, the rest go on."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from torch import nn

from netloupe.models.preprocess import ImagePreprocess
from netloupe.models.zoo import LoadedModel
from netloupe.pipeline import build_request, explain_to_folder

DATA = Path(__file__).resolve().parents[1] / "data"


def _tiny() -> LoadedModel:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    ).eval()
    pre = ImagePreprocess(size=(32, 32), mean=(0.5,), std=(0.5,), channels=1)
    return LoadedModel("tiny", model, pre, ["a", "b"], target_layer="1")


def test_dicom_and_nifti_maps_in_source_geometry_and_a_bad_file_recorded(tmp_path: Path) -> None:
    bad = tmp_path / "broken.nii"
    bad.write_bytes(b"\x00" * 10)
    request = build_request(_tiny(), ["gradcam", "cam"], top_k=2)
    out = tmp_path / "out"
    manifest_path, _ = explain_to_folder([DATA / "MR_small.dcm", bad, DATA / "anatomical.nii"], request, out)
    assert manifest_path is not None
    manifest = json.loads(manifest_path.read_text())
    assert [Path(r["source"]).name for r in manifest["items"]] == ["MR_small.dcm", "anatomical.nii"]
    assert manifest["failed"] == [{"id": "broken", "source": str(bad), "reason": manifest["failed"][0]["reason"]}]
    assert "not a readable NIfTI" in manifest["failed"][0]["reason"]
    assert manifest["complete"] and manifest["counts"] == {"items": 3, "done": 2, "failed": 1, "pending": 0}
    mr, anat = manifest["items"]
    assert (mr["height"], mr["width"]) == (64, 64)  # the DICOM grid, not the model's 32x32
    assert mr["geometry"]["spacing_mm"] == pytest.approx([0.3125, 0.3125])
    assert len(mr["maps"]) == 4  # two methods x top-2 classes, for DICOM as for photos
    entry = next(e for e in mr["maps"] if e["method"] == "gradcam" and e["rank"] == 1)
    assert nib.load(out / entry["nifti"]).shape == (64, 64, 1)
    with np.load(out / entry["array"]) as z:
        assert z["gradcam"].shape == (2, 64, 64)
    assert anat["input"]["slice_axis"] == 2  # a 2-D model sees the middle axial slice of the volume
    assert anat["input"]["slice_index"] == 12
    cam = next(e for e in anat["maps"] if e["method"] == "cam" and e["rank"] == 1)
    slice_map = nib.load(out / cam["nifti"])
    assert slice_map.shape == (33, 41, 1)
    volume = nib.load(DATA / "anatomical.nii")
    np.testing.assert_allclose(slice_map.affine @ [5, 6, 0, 1], volume.affine @ [5, 6, 12, 1], atol=1e-5)
    with np.load(out / cam["array"]) as z:
        np.testing.assert_allclose(np.asarray(slice_map.dataobj)[:, :, 0], z["cam"][0], atol=1e-6)


def test_class_agnostic_method_writes_one_overlay_for_all_ranks(tmp_path: Path) -> None:
    """Eigen-CAM ignores the class: one picture, named as such, shared by every rank's entry."""
    from PIL import Image

    photo = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 24), dtype=np.uint8)).save(photo)
    request = build_request(_tiny(), ["eigencam", "gradcam"], top_k=2)
    manifest_path, _ = explain_to_folder([photo], request, tmp_path / "out", figures=False)
    assert manifest_path is not None
    entries = json.loads(manifest_path.read_text())["items"][0]["maps"]
    eigen = [e for e in entries if e["method"] == "eigencam"]
    assert {e["overlay"] for e in eigen} == {"p/eigencam_class-agnostic.png"}
    assert all(e["class_agnostic"] for e in eigen)
    assert len({e["overlay"] for e in entries if e["method"] == "gradcam"}) == 2
    names = sorted(p.name for p in (tmp_path / "out" / "p").glob("*.png"))
    assert names[0] == "eigencam_class-agnostic.png" and [n[:12] for n in names[1:]] == ["gradcam_top1", "gradcam_top2"]


def test_a_dicom_file_without_a_suffix_is_read_as_dicom(tmp_path: Path) -> None:
    """Dispatch by content (the 'DICM' preamble), as PACS exports often have no file extension."""
    import shutil

    plain = tmp_path / "IM0001"
    shutil.copy(DATA / "MR_small.dcm", plain)
    manifest_path, _ = explain_to_folder([plain], build_request(_tiny(), ["gradcam"]), tmp_path / "out")
    assert manifest_path is not None
    item = json.loads(manifest_path.read_text())["items"][0]
    assert item["geometry"]["spacing_mm"] == pytest.approx([0.3125, 0.3125]) and item["grid"] == [64, 64]
