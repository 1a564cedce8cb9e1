"""Reading NIfTI volumes (nibabel) and writing maps back in the same voxel grid.

Orientation and channels: the array is kept in the file's voxel order ``(i, j, k)`` (no reorientation),
so the file's affine (voxel index -> RAS+ millimetres, nibabel's ``img.affine``, i.e. the sform when set,
else the qform) stays valid for it and for every map computed on it. ``meta["orientation"]`` records the
axis codes (e.g. ``('R', 'A', 'S')``). A 4-D series (time or channels on the 4th axis) needs ``volume=``;
2-D files and one slice of a volume (``slice_axis``/``slice_index``) become 2-D images whose affine
still places the slice in the scanner space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._typing import PathLikeStr
from ..errors import InputError
from .atomic import atomic_write
from .limits import MAX_VOXELS, check_size
from .medical_image import MedicalImage
from .windowing import Window, apply_window, parse_window, robust_range

__all__ = ["extract_slice", "read_nifti", "write_nifti_map"]


def _nibabel() -> Any:
    try:
        import nibabel
    except ImportError as exc:
        raise InputError("NIfTI support needs nibabel: pip install 'netloupe[medical]'") from exc
    return nibabel


def read_nifti(
    path: PathLikeStr,
    volume: int | None = None,
    window: str | tuple[float, float] | Window | None = None,
    max_voxels: int | None = MAX_VOXELS,
) -> MedicalImage:
    """Read a ``.nii`` / ``.nii.gz`` file as a 2-D or 3-D image with its affine.

    The shape comes from the header (nibabel loads lazily); the voxels to read are checked against
    ``max_voxels`` before any is decoded (a 0.3 MB gzipped file can hold 400^3 voxels).

    Args:
        path: the NIfTI file.
        volume: for a 4-D file, the index on the 4th axis to keep (required there).
        window: a CT window (preset or centre/width); None scales the 0.5-99.5 percentile range to [0, 1].
        max_voxels: the most voxels read (None: no limit); see :mod:`netloupe.io.limits`.

    Raises:
        InputError: missing/truncated/corrupt file, 4-D data without ``volume``, a bad ``volume``, more
            than 4 dimensions, or no finite voxel (all NaN/inf); :class:`~netloupe.io.limits.InputTooLarge`
            over ``max_voxels``.
    """
    nib = _nibabel()
    file = Path(path)
    if not file.is_file():
        raise InputError(f"path: {file} does not exist or is not a file")
    try:
        img = nib.load(str(file))
    except Exception as exc:  # nibabel raises ImageFileError, HeaderDataError, EOFError, ...
        raise InputError(f"path: {file} is not a readable NIfTI file ({type(exc).__name__}: {exc})") from exc
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 3 and shape[-1] == 1:  # (X, Y, Z, 1) is a 3-D volume
        shape = shape[:-1]
    if len(shape) > 4:
        raise InputError(f"path: {file} has {len(shape)} dimensions {shape}; netloupe reads 2-D, 3-D or 4-D NIfTI")
    check_size(file, shape[:3], max_voxels, unit="voxels", param="path")
    try:
        if len(shape) == 4:
            if volume is None:
                raise InputError(
                    f"volume: {file} is 4-D {shape} ({shape[3]} volumes); choose one with volume=0..{shape[3] - 1}"
                    " (CLI: --volume N)"
                )
            if not 0 <= volume < shape[3]:
                raise InputError(f"volume: {file} has {shape[3]} volumes (0..{shape[3] - 1}), got {volume}")
            data = np.asarray(img.dataobj[..., volume], dtype=np.float32)
        else:
            if volume not in (None, 0):
                raise InputError(f"volume: {file} is {len(shape)}-D {shape}, volume={volume} needs a 4-D file")
            data = np.asarray(img.get_fdata(dtype=np.float32))
    except InputError:
        raise
    except Exception as exc:  # truncated gzip / short data: EOFError, OSError, ValueError, zlib.error
        raise InputError(f"path: {file} is truncated or corrupt: its voxel data cannot be read ({exc})") from exc
    data = data.reshape(shape[:3]) if len(shape) <= 3 else data
    if not np.isfinite(data).any():
        raise InputError(f"path: {file} holds no finite voxel value (all NaN/inf); there is nothing to explain")
    zooms = tuple(float(z) for z in img.header.get_zooms()[: data.ndim])
    affine = np.asarray(img.affine, dtype=np.float64)
    win = parse_window(window)
    display = apply_window(data, win) if win is not None else robust_range(data)
    meta: dict[str, Any] = {
        "format": "nifti",
        "orientation": "".join(nib.aff2axcodes(affine)),
        "file_shape": list(img.shape),
        "volume": volume,
        "window": None if win is None else {"center": win.center, "width": win.width, "name": win.name},
        "header_dtype": str(img.get_data_dtype()),
    }
    return MedicalImage(values=data, display=display, spacing=zooms, affine=affine, meta=meta, source=file)


def extract_slice(image: MedicalImage, axis: int, index: int | None = None) -> MedicalImage:
    """One 2-D slice of a 3-D image; the affine is shifted so that it still places the slice correctly.

    Args:
        image: a 3-D image.
        axis: the voxel axis (0, 1 or 2) that the slice is perpendicular to.
        index: the slice index (default: the middle slice).
    """
    if image.values.ndim != 3:
        raise InputError(f"slice_axis: slicing needs a 3-D image, got shape {image.values.shape}")
    if axis not in (0, 1, 2):
        raise InputError(f"slice_axis: expected 0, 1 or 2, got {axis}")
    size = image.values.shape[axis]
    index = size // 2 if index is None else index
    if not 0 <= index < size:
        raise InputError(f"slice_index: axis {axis} has {size} slices (0..{size - 1}), got {index}")
    affine = None
    if image.affine is not None:
        # Move the sliced axis last, keep its direction; translate the origin to the slice.
        order = [a for a in range(3) if a != axis] + [axis]
        affine = np.eye(4)
        affine[:3, :3] = image.affine[:3, order]
        affine[:3, 3] = image.affine[:3, 3] + image.affine[:3, axis] * index
    meta = {**image.meta, "slice_axis": axis, "slice_index": index, "volume_shape": list(image.values.shape)}
    return MedicalImage(
        values=np.take(image.values, index, axis=axis),
        display=np.take(image.display, index, axis=axis),
        spacing=tuple(s for a, s in enumerate(image.spacing) if a != axis),
        affine=affine,
        meta=meta,
        source=image.source,
    )


def write_nifti_map(heatmap: np.ndarray, reference: MedicalImage, path: PathLikeStr) -> Path:
    """Write a map in the reference image's voxel grid as NIfTI-1 (float32), with its affine.

    The map must have the reference's spatial shape (use :func:`netloupe.io.medical.resize_map` first);
    a 2-D map is stored as a one-slice volume. The file is written to a temporary name and renamed.
    """
    nib = _nibabel()
    arr = np.asarray(heatmap, dtype=np.float32)
    if arr.shape != reference.values.shape[: arr.ndim] or arr.ndim != reference.ndim:
        raise InputError(
            f"map: expected the image's shape {tuple(reference.values.shape[: reference.ndim])}, got {arr.shape}"
        )
    if reference.affine is None:
        raise InputError(f"map: {reference.source} has no affine (no orientation/position); write PNG + .npy instead")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    img = nib.Nifti1Image(arr, reference.affine)
    img.set_sform(reference.affine, code=2)  # 2 = aligned to the source image's scanner space
    img.set_qform(reference.affine, code=2)
    img.header["descrip"] = b"netloupe map"
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(out, lambda tmp: nib.save(img, str(tmp)), keep_suffix=True)
