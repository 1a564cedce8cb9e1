"""DICOM reading: rescale, windows, VOI LUT, MONOCHROME1, multi-frame, geometry and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netloupe.errors import InputError
from netloupe.io.medical import read_medical, read_medical_batch

pydicom = pytest.importorskip("pydicom")
from pydicom.dataset import FileDataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


def _write(path: Path, pixels: np.ndarray | None, **tags: object) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    if pixels is not None:
        arr = pixels.astype(np.uint16)
        ds.Rows, ds.Columns = arr.shape[-2:]
        if arr.ndim == 3:
            ds.NumberOfFrames = arr.shape[0]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = arr.tobytes()
    for key, value in tags.items():
        setattr(ds, key, value)
    ds.save_as(str(path), enforce_file_format=True)
    return path


STORED = np.array([[75, 87, 100], [125, 150, 160]])


def test_rescale_and_file_window_hand_values(tmp_path: Path) -> None:
    # values = 2 * stored - 100 = [[50, 74, 100], [150, 200, 220]]; window c=100.5 w=101 (see test_windowing)
    path = _write(
        tmp_path / "a.dcm", STORED, RescaleSlope=2, RescaleIntercept=-100, WindowCenter=100.5, WindowWidth=101
    )
    image = read_medical(path)
    np.testing.assert_array_equal(image.values, [[50, 74, 100], [150, 200, 220]])
    np.testing.assert_allclose(image.display, [[0, 0.24, 0.5], [1, 1, 1]], atol=1e-6)
    assert image.meta["window"]["name"] == "file"


def test_monochrome1_is_inverted(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m1.dcm",
        STORED,
        RescaleSlope=2,
        RescaleIntercept=-100,
        WindowCenter=100.5,
        WindowWidth=101,
        PhotometricInterpretation="MONOCHROME1",
    )
    image = read_medical(path)
    np.testing.assert_allclose(image.display, [[1, 0.76, 0.5], [0, 0, 0]], atol=1e-6)
    assert image.meta["inverted"] is True


def test_named_preset_overrides_file_window(tmp_path: Path) -> None:
    # brain window c=40 w=80: lo = 0, hi = 79; values [[50,74,100],[150,200,220]] -> (x-39.5)/79+0.5
    path = _write(tmp_path / "b.dcm", STORED, RescaleSlope=2, RescaleIntercept=-100, WindowCenter=100, WindowWidth=10)
    image = read_medical(path, window="brain")
    np.testing.assert_allclose(image.display[0], [(50 - 39.5) / 79 + 0.5, (74 - 39.5) / 79 + 0.5, 1.0], atol=1e-6)
    assert image.meta["window"]["name"] == "brain"


def test_voi_lut_sequence_is_used_without_window(tmp_path: Path) -> None:
    from pydicom.dataset import Dataset

    item = Dataset()
    item.LUTDescriptor = [4, 10, 8]
    item.LUTData = np.array([0, 51, 102, 255], dtype="<u2").tobytes()  # OW, 16-bit entries
    path = _write(tmp_path / "lut.dcm", np.array([[5, 10, 11], [12, 13, 20]]), VOILUTSequence=[item])
    np.testing.assert_allclose(read_medical(path).display, [[0, 0, 0.2], [0.4, 1.0, 1.0]], atol=1e-6)


def test_multiframe_volume_and_frame_choice(tmp_path: Path) -> None:
    frames = np.arange(3 * 4 * 5).reshape(3, 4, 5)
    path = _write(tmp_path / "mf.dcm", frames, PixelSpacing=[0.5, 0.25], SliceThickness=3)
    volume = read_medical(path)
    assert volume.values.shape == (3, 4, 5)
    assert volume.spacing == (3.0, 0.5, 0.25)
    np.testing.assert_array_equal(read_medical(path, frame=1).values, frames[1])
    with pytest.raises(InputError, match=r"frame: .* has 3 frames \(0\.\.2\), got 5"):
        read_medical(path, frame=5)


def test_ct_sample_rescale_window_and_affine() -> None:
    image = read_medical(DATA / "CT_small.dcm", window="lung")
    ds = pydicom.dcmread(DATA / "CT_small.dcm")
    stored = ds.pixel_array.astype(np.float64)
    np.testing.assert_array_equal(image.values, stored - 1024)  # slope 1, intercept -1024
    r, c = np.argwhere(stored == stored.min())[0]  # stored 128 -> -896 HU
    # lung c=-600 w=1500: (-896 - (-600.5)) / 1499 + 0.5
    assert image.display[r, c] == pytest.approx((-896 + 600.5) / 1499 + 0.5, abs=1e-6)
    # affine: pixel (row 0, col 0) is Image Position (Patient), LPS -> RAS flips x and y
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    np.testing.assert_allclose(image.affine @ [0, 0, 0, 1], [-ipp[0], -ipp[1], ipp[2], 1])
    # one row down moves by PixelSpacing[0] along the column direction cosine (IOP[3:])
    step = np.array([float(v) for v in ds.ImageOrientationPatient[3:]]) * float(ds.PixelSpacing[0])
    np.testing.assert_allclose(
        image.affine @ [1, 0, 0, 1] - image.affine @ [0, 0, 0, 1], [-step[0], -step[1], step[2], 0]
    )
    assert image.spacing == pytest.approx((0.661468, 0.661468))


def test_no_pixel_data_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.dcm", None, Modality="RTPLAN")
    with pytest.raises(InputError, match=r"RTPLAN object .* without pixel data"):
        read_medical(path)


def test_pydicom_rt_plan_sample() -> None:
    from pydicom.data import get_testdata_file

    plan = get_testdata_file("rtplan.dcm")
    if plan is None:
        pytest.skip("pydicom's rtplan.dcm test file is not installed")
    with pytest.raises(InputError, match="without pixel data"):
        read_medical(plan)


def test_compressed_without_decoder_names_the_extra() -> None:
    import importlib.util

    from pydicom.data import get_testdata_file

    if any(importlib.util.find_spec(m) for m in ("libjpeg", "jpeg_ls", "gdcm")):
        pytest.skip("a JPEG-LS decoder is installed")
    path = get_testdata_file("MR_small_jpeg_ls_lossless.dcm")
    if path is None:
        pytest.skip("pydicom's JPEG-LS test file is not installed")
    with pytest.raises(InputError, match=r"compressed as 'JPEG-LS Lossless.*netloupe\[dicom-codecs\]"):
        read_medical(path)


def test_truncated_and_non_dicom_files(tmp_path: Path) -> None:
    data = (DATA / "CT_small.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_medical(cut)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not a dicom file at all")
    with pytest.raises(InputError, match=r"not a DICOM file|truncated or corrupt"):
        read_medical(junk)


def test_batch_records_failures_and_goes_on(tmp_path: Path) -> None:
    bad = _write(tmp_path / "plan.dcm", None, Modality="RTPLAN")
    images, failures = read_medical_batch([DATA / "MR_small.dcm", bad, tmp_path / "missing.dcm"])
    assert len(images) == 1
    assert [f["path"] for f in failures] == [str(bad), str(tmp_path / "missing.dcm")]
    assert "without pixel data" in failures[0]["error"]


@pytest.mark.parametrize("name", ["SC_rgb_rle.dcm", "examples_palette.dcm"])
def test_colour_and_palette_images_become_rgb(name: str) -> None:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom's {name} is not installed")
    image = read_medical(path)
    assert image.is_color
    assert image.ndim == 2
    assert image.display.shape[-1] == 3
    assert 0.0 <= float(image.display.min()) <= float(image.display.max()) <= 1.0
