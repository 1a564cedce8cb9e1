"""Issue 16 items 1, 3 and 8 at the library level: sizes checked from the header before decoding, and
inputs with nothing finite in them refused (images, ``.npy``, DICOM, NIfTI)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.fixtures.bad_inputs import png_with_header, rle_dicom, zero_nifti_gz

from netloupe.errors import InputError
from netloupe.io.images import read_image
from netloupe.io.limits import InputTooLarge

MB = 1 << 20


def test_decompression_bomb_png_is_one_input_error(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_with_header(30000, 30000))
    assert bomb.stat().st_size == 69
    with pytest.raises(InputError, match=r"bomb\.png"):
        read_image(bomb)


def test_image_over_the_limit_is_refused_from_its_header(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(png_with_header(11000, 11000, color_type=0))  # under Pillow's own limit: it would decode
    tracemalloc.start()
    try:
        with pytest.raises(InputTooLarge, match="121,000,000 pixels") as exc:
            read_image(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (exc.value.count, exc.value.limit) == (121_000_000, 100_000_000)
    assert peak < 4 * MB  # decoding would have allocated 121 MB
    small = tmp_path / "small.png"
    Image.new("RGB", (30, 20), (1, 2, 3)).save(small)
    with pytest.raises(InputTooLarge):
        read_image(small, max_pixels=599)
    assert read_image(small, max_pixels=600).size == (30, 20)
    assert read_image(small, max_pixels=None).getpixel((0, 0)) == (1, 2, 3)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.full((8, 8), np.nan, dtype=np.float32), "only NaN/inf"),
        (np.full((4, 4, 3), np.inf), "only NaN/inf"),
        (np.where(np.eye(4) > 0, np.nan, 1.0), "4 NaN/inf values of 16"),
    ],
)
def test_npy_without_finite_values_is_refused(tmp_path: Path, array: np.ndarray, match: str) -> None:
    path = tmp_path / "x.npy"
    np.save(path, array)
    with pytest.raises(InputError, match=match):
        read_image(path)


def test_npy_over_the_limit_is_refused_before_loading(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((3, 50, 40), dtype=np.uint8))  # channels first: 50 x 40 pixels
    with pytest.raises(InputTooLarge, match="50 x 40"):
        read_image(path, max_pixels=1999)
    assert read_image(path, max_pixels=2000).size == (40, 50)


def test_nifti_limit_and_all_nan(tmp_path: Path) -> None:
    pytest.importorskip("nibabel")
    import nibabel as nib

    from netloupe.io.nifti import read_nifti

    path = tmp_path / "big.nii.gz"
    path.write_bytes(zero_nifti_gz((100, 100, 100)))
    with pytest.raises(InputTooLarge, match="1,000,000 voxels"):
        read_nifti(path, max_voxels=999_999)
    assert read_nifti(path, max_voxels=1_000_000).values.shape == (100, 100, 100)
    nan = tmp_path / "nan.nii"
    nib.save(nib.Nifti1Image(np.full((4, 4, 4), np.nan, dtype=np.float32), np.eye(4)), str(nan))
    with pytest.raises(InputError, match="no finite voxel"):
        read_nifti(nan)
    some = tmp_path / "some.nii"
    data = np.arange(64, dtype=np.float32).reshape(4, 4, 4)
    data[0] = np.nan  # masked voxels outside the brain are common: still readable
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(some))
    assert read_nifti(some).values.shape == (4, 4, 4)


def test_dicom_limit_counts_frames_before_decoding(tmp_path: Path) -> None:
    pytest.importorskip("pydicom")
    from netloupe.io.dicom import read_dicom
    from netloupe.io.medical import read_medical

    path = rle_dicom(tmp_path / "multi.dcm", 64, 32, frames=3)
    with pytest.raises(InputTooLarge, match="3 x 64 x 32 x 1 = 6,144 values"):
        read_dicom(path, max_voxels=6143)
    with pytest.raises(InputTooLarge):
        read_medical(path, max_voxels=6143)
    assert read_dicom(path, max_voxels=6144).values.shape == (3, 64, 32)


def test_medical_options_are_checked_before_any_work(tmp_path: Path) -> None:
    from netloupe.io.medical import check_medical_options

    photo, scan = tmp_path / "a.png", tmp_path / "b.nii.gz"
    with pytest.raises(InputError, match="--window: applies to DICOM/NIfTI"):
        check_medical_options([photo], window="lung")
    with pytest.raises(InputError, match="window: expected a preset"):
        check_medical_options([scan], window="abc")
    with pytest.raises(InputError, match="--slice-index: expected >= 0"):
        check_medical_options([scan], slice_index=-1)
    check_medical_options([photo, scan], window="40,400", slice_axis=2)  # valid: nothing raised
    check_medical_options([photo])
