"""DICOM and NIfTI uploads: refused clearly without netloupe.io.medical, routed through read_medical with it."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
from tests.web.test_web_sniff_boxes import nifti_header

DICOM_BYTES = b"\x00" * 128 + b"DICM" + b"\x00" * 64


def _post(client, data: bytes, name: str = "scan.dcm", **form: str):  # type: ignore[no-untyped-def]
    return client.post("/api/explain", files={"file": (name, data)}, data={"methods": "gradcam", **form})


def test_dicom_without_the_medical_reader_is_415(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "netloupe.io.medical", None)  # makes the import fail
    for data in (DICOM_BYTES, nifti_header()):
        r = _post(client, data, name="scan.bin")
        assert r.status_code == 415
        assert "needs netloupe.io.medical" in r.json()["error"]


class FakeImage:
    def __init__(self, display: np.ndarray, fmt: str) -> None:
        self.display = display
        self.meta = {"format": fmt, "modality": "CT"}
        self.spacing = (1.0, 1.0, 2.0)[: display.ndim]


@pytest.fixture
def fake_medical(monkeypatch):  # type: ignore[no-untyped-def]
    """A stand-in ``netloupe.io.medical`` that records the paths it was given."""
    calls: list[tuple[Path, object]] = []
    module = types.ModuleType("netloupe.io.medical")

    def read_medical(path, window=None, max_voxels=None):  # type: ignore[no-untyped-def]
        path = Path(path)
        assert path.exists()
        calls.append((path, window))
        if path.name.endswith(".dcm"):
            if window == "nope":
                from netloupe.errors import InputError

                raise InputError(f"window: expected a preset (lung, bone), got 'nope' in {path}")
            return FakeImage(np.linspace(0, 1, 40 * 30).reshape(30, 40), "dicom")
        vol = np.zeros((20, 16, 5))
        vol[:, :, 3] = np.linspace(0, 1, 20 * 16).reshape(20, 16)
        return FakeImage(vol, "nifti")

    module.read_medical = read_medical  # type: ignore[attr-defined]
    windowing = types.ModuleType("netloupe.io.windowing")
    windowing.WINDOW_PRESETS = {"lung": (-600.0, 1500.0), "bone": (400.0, 1800.0)}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "netloupe.io.medical", module)
    monkeypatch.setitem(sys.modules, "netloupe.io.windowing", windowing)
    return calls


def test_dicom_goes_through_read_medical_and_temp_files_are_removed(client, fake_medical) -> None:  # type: ignore[no-untyped-def]
    r = _post(client, DICOM_BYTES, name="../../x.png")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["input"]["kind"] == "dicom" and body["input"]["windows"] == ["lung", "bone"]
    assert (body["width"], body["height"]) == (40, 30)
    again = client.post("/api/explain", data={"input_id": body["input_id"], "window": "lung", "methods": "gradcam"})
    assert again.status_code == 200 and again.json()["input"]["window"] == "lung"
    assert [w for _, w in fake_medical] == [None, None, "lung"]  # read at upload, then per request
    assert all(p.suffix == ".dcm" and p.name == "upload.dcm" and not p.exists() for p, _ in fake_medical)
    bad = client.post("/api/explain", data={"input_id": body["input_id"], "window": "nope", "methods": "gradcam"})
    assert bad.status_code == 422 and "window" in bad.json()["error"] and "upload" in bad.json()["error"]
    assert "netloupe-web-" not in bad.json()["error"]  # the temporary path is not revealed


def test_nifti_volume_has_slices(client, fake_medical) -> None:  # type: ignore[no-untyped-def]
    r = _post(client, nifti_header(), name="brain.nii")
    assert r.status_code == 200, r.text
    info = r.json()["input"]
    assert (info["n_slices"], info["slice"]) == (5, 2)
    r = client.post("/api/explain", data={"input_id": r.json()["input_id"], "slice": "3", "methods": "gradcam"})
    assert r.status_code == 200 and r.json()["input"]["slice"] == 3
    # slice 3 holds a ramp; NIfTI (i, j) is shown transposed and flipped: 16 rows x 20 columns
    assert (r.json()["width"], r.json()["height"]) == (20, 16)
    out = client.post("/api/explain", data={"input_id": r.json()["input_id"], "slice": "9", "methods": "gradcam"})
    assert out.status_code == 422 and "slice: expected 0..4" in out.json()["error"]


def test_real_dicom_when_the_medical_reader_is_installed(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pydicom = pytest.importorskip("pydicom")
    from tests.web.dicom_sample import write_ct

    path = write_ct(tmp_path / "ct.dcm", pydicom)
    r = _post(client, path.read_bytes(), name="ct")
    assert r.status_code == 200, r.text
    assert r.json()["input"]["kind"] == "dicom"
