"""NIfTI reading and writing: affine kept, maps written back in the input's geometry, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from netloupe.errors import InputError
from netloupe.io.medical import read_medical, resize_map, to_model_input
from netloupe.io.nifti import write_nifti_map
from netloupe.viz.medical import save_montage

nib = pytest.importorskip("nibabel")
DATA = Path(__file__).resolve().parents[1] / "data"


def test_anatomical_geometry_round_trip(tmp_path: Path) -> None:
    image = read_medical(DATA / "anatomical.nii")
    ref = nib.load(DATA / "anatomical.nii")
    assert image.shape == (33, 41, 25)
    np.testing.assert_array_equal(image.affine, ref.affine)
    assert image.meta["orientation"] == "LAS"
    heat = np.random.default_rng(0).random((8, 8, 8)).astype(np.float32)  # a map on a model's coarse grid
    grid = resize_map(heat, image.shape)
    back = nib.load(write_nifti_map(grid, image, tmp_path / "anat.nii.gz"))
    assert back.shape == ref.shape
    np.testing.assert_allclose(back.affine, ref.affine, atol=1e-5)
    np.testing.assert_allclose(back.header.get_zooms(), (2.0, 2.0, 2.0), atol=1e-6)
    np.testing.assert_allclose(np.asarray(back.dataobj), resize_map(heat, image.shape), atol=1e-6)
    assert int(back.header["sform_code"]) == 2
    assert save_montage(image.display, grid, tmp_path / "anat_montage.png").stat().st_size > 1000
    assert not list(tmp_path.glob("*.part*"))


def test_slice_keeps_world_position() -> None:
    volume = read_medical(DATA / "anatomical.nii")
    piece = read_medical(DATA / "anatomical.nii", slice_axis=1, slice_index=7)
    assert piece.shape == (33, 25)
    np.testing.assert_array_equal(piece.values, volume.values[:, 7, :])
    # voxel (i, k) of the slice is voxel (i, 7, k) of the volume, in world coordinates
    np.testing.assert_allclose(piece.affine @ [4, 3, 0, 1], volume.affine @ [4, 7, 3, 1])


def _nifti(path: Path, data: np.ndarray) -> Path:
    affine = np.diag([1.5, 2.0, 2.5, 1.0])
    affine[:3, 3] = [-10, 5, 7]
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def test_4d_needs_a_volume(tmp_path: Path) -> None:
    data = np.arange(4 * 3 * 2 * 3, dtype=np.float32).reshape(4, 3, 2, 3)
    path = _nifti(tmp_path / "series.nii.gz", data)
    with pytest.raises(
        InputError, match=r"volume: .* is 4-D \(4, 3, 2, 3\) \(3 volumes\); choose one with volume=0..2"
    ):
        read_medical(path)
    np.testing.assert_array_equal(read_medical(path, volume=2).values, data[..., 2])
    with pytest.raises(InputError, match="has 3 volumes"):
        read_medical(path, volume=3)


def test_2d_dicom_written_as_one_slice_nifti(tmp_path: Path) -> None:
    image = read_medical(DATA / "MR_small.dcm")
    heat = np.zeros((64, 64), dtype=np.float32)
    heat[10, 20] = 1.0
    back = nib.load(write_nifti_map(heat, image, tmp_path / "mr.nii.gz"))
    assert back.shape == (64, 64, 1)
    np.testing.assert_allclose(back.affine, image.affine, atol=1e-5)
    assert np.asarray(back.dataobj)[10, 20, 0] == 1.0
    assert back.header.get_zooms()[:2] == pytest.approx((0.3125, 0.3125))


def test_truncated_files_give_one_message(tmp_path: Path) -> None:
    data = np.random.default_rng(0).random((20, 20, 20)).astype(np.float32)
    gz = _nifti(tmp_path / "v.nii.gz", data)
    raw = gzip.decompress(gz.read_bytes())
    cut_gz = tmp_path / "cut.nii.gz"
    cut_gz.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    cut = tmp_path / "cut.nii"
    cut.write_bytes(raw[: len(raw) // 2])
    for path in (cut_gz, cut):
        with pytest.raises(InputError, match=r"truncated or corrupt|not a readable NIfTI"):
            read_medical(path)
    (tmp_path / "empty.nii").write_bytes(b"")
    with pytest.raises(InputError, match="not a readable NIfTI"):
        read_medical(tmp_path / "empty.nii")


def test_model_input_resizes_and_normalises() -> None:
    image = read_medical(DATA / "anatomical.nii")
    x = to_model_input(image, size=(16, 16, 16))
    assert x.shape == (1, 1, 16, 16, 16)
    assert float(x.min()) >= -1.0 - 1e-6
    assert float(x.max()) <= 1.0 + 1e-6
    with pytest.raises(InputError, match="size: the image is 3-D"):
        to_model_input(image, size=(16, 16))
