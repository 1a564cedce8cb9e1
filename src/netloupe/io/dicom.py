"""Reading DICOM images (pydicom) into a :class:`~netloupe.io.medical.MedicalImage`.

Pipeline, in the order of the DICOM grey-scale standard display pipeline (PS3.3 C.11, PS3.4 N.2):

1. decode the pixel data (a compressed transfer syntax needs a decoder: ``pip install netloupe[dicom-codecs]``);
2. modality LUT: ``value = stored * RescaleSlope + RescaleIntercept`` (Hounsfield units for CT);
3. VOI: a window the caller names (preset or centre/width), else the file's first Window Center/Width,
   else the file's VOI LUT Sequence, else the 0.5-99.5 percentile range; see :mod:`netloupe.io.windowing`;
4. ``MONOCHROME1`` (white = low values) is inverted so that display values always mean "brighter".

Geometry: ``spacing`` is (row, column) in mm from Pixel Spacing (or Imager Pixel Spacing for projection
radiographs), with the frame spacing prepended for multi-frame images; when Image Orientation/Position
(Patient) are present, ``affine`` maps array indices (``(row, col)``, or ``(frame, row, col)``) to RAS+ mm (the
NIfTI convention; DICOM's LPS is flipped on its first two axes), so maps can be written as NIfTI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._typing import PathLikeStr
from ..errors import InputError
from .limits import MAX_VOXELS, check_size
from .medical_image import MedicalImage
from .windowing import Window, apply_voi_lut, apply_window, parse_window, robust_range

__all__ = ["CODECS_HINT", "read_dicom"]

CODECS_HINT = "pip install 'netloupe[dicom-codecs]' (pylibjpeg with its libjpeg/openjpeg plug-ins)"


def _pydicom() -> Any:
    try:
        import pydicom
    except ImportError as exc:
        raise InputError("DICOM support needs pydicom: pip install 'netloupe[medical]'") from exc
    return pydicom


def read_dicom(
    path: PathLikeStr,
    window: str | tuple[float, float] | Window | None = None,
    frame: int | None = None,
    max_voxels: int | None = MAX_VOXELS,
) -> MedicalImage:
    """Read a DICOM image file.

    Rows x Columns x Number of Frames x Samples per Pixel is read from the header and checked against
    ``max_voxels`` before the pixel data is decoded (an RLE file of 2 MB can hold 8192 x 8192 pixels).

    Args:
        path: the ``.dcm`` file.
        window: a preset name (lung, mediastinum, bone, brain, soft-tissue), ``"CENTER,WIDTH"``, a
            ``(center, width)`` pair or a :class:`Window`; None uses the file's own VOI (see module docstring).
        frame: for a multi-frame file, keep only this frame (0-based); None keeps all frames as a volume.
        max_voxels: the most decoded values accepted (None: no limit); see :mod:`netloupe.io.limits`.

    Returns:
        A MedicalImage whose ``values`` are modality values (after rescale) and ``display`` the windowed
        [0, 1] grey levels (``(H, W)``, ``(F, H, W)`` or ``(H, W, 3)`` for colour).

    Raises:
        InputError: not a DICOM file, no pixel data (e.g. RT plan, structured report), a compressed transfer
            syntax without a decoder, truncated pixel data, or a bad ``frame``/``window``;
            :class:`~netloupe.io.limits.InputTooLarge` over ``max_voxels``.
    """
    pydicom = _pydicom()
    file = Path(path)
    if not file.is_file():
        raise InputError(f"path: {file} does not exist or is not a file")
    try:
        ds = pydicom.dcmread(str(file))
    except pydicom.errors.InvalidDicomError as exc:
        raise InputError(f"path: {file} is not a DICOM file (no 'DICM' preamble or valid header)") from exc
    except (EOFError, OSError, ValueError) as exc:
        raise InputError(f"path: {file} is truncated or corrupt and cannot be read as DICOM ({exc})") from exc
    modality = str(ds.get("Modality", "?"))
    if not any(tag in ds for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        sop = getattr(ds.get("SOPClassUID", None), "name", "unknown SOP class")
        raise InputError(
            f"path: {file} is a DICOM {modality} object ({sop}) without pixel data; only image objects "
            "(CT, MR, CR, DX, US, ...) can be explained"
        )
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    try:
        dims = tuple(int(ds.get(tag, 1) or 1) for tag in ("NumberOfFrames", "Rows", "Columns", "SamplesPerPixel"))
    except (TypeError, ValueError) as exc:
        raise InputError(f"path: {file}: Rows/Columns/Number of Frames are not numbers ({exc})") from exc
    check_size(file, dims if dims[0] > 1 else dims[1:], max_voxels, unit="values", param="path")
    try:
        stored = np.asarray(ds.pixel_array)
    except (RuntimeError, NotImplementedError) as exc:
        name = getattr(syntax, "name", str(syntax))
        if syntax is not None and getattr(syntax, "is_compressed", False):
            raise InputError(
                f"path: {file} has pixel data compressed as {name!r} and no installed decoder handles it; "
                f"install one with {CODECS_HINT}"
            ) from exc
        raise InputError(f"path: {file}: pixel data cannot be decoded ({str(exc).splitlines()[0]})") from exc
    except ValueError as exc:
        raise InputError(
            f"path: {file}: pixel data is truncated or inconsistent with its header ({str(exc).split(' - ')[0]})"
        ) from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    samples = int(ds.get("SamplesPerPixel", 1))
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    if n_frames > 1:
        if frame is not None:
            if not 0 <= frame < n_frames:
                raise InputError(f"frame: {file} has {n_frames} frames (0..{n_frames - 1}), got {frame}")
            stored = stored[frame]
    elif frame not in (None, 0):
        raise InputError(f"frame: {file} has a single frame, got frame={frame}")
    meta: dict[str, Any] = {
        "format": "dicom",
        "modality": modality,
        "photometric": photometric,
        "transfer_syntax": getattr(syntax, "name", None),
        "frames": n_frames,
        "frame": frame,
    }
    if photometric == "PALETTE COLOR":  # indices into the file's red/green/blue LUTs (PS3.3 C.7.6.3.1.5)
        from pydicom.pixels import apply_color_lut

        stored = np.asarray(apply_color_lut(stored, ds))
        samples = 3
        bits = 16 if stored.dtype.itemsize > 1 else 8
    else:
        bits = int(ds.get("BitsStored", 8))
    if samples > 1:  # colour: pydicom returns RGB; no modality/VOI transforms apply
        values = stored.astype(np.float32)
        display = np.clip(values / float(2**bits - 1), 0, 1).astype(np.float32)
        meta["window"] = None
    else:
        values = _rescale(ds, stored)
        display, meta["window"] = _voi(ds, values, stored, parse_window(window))
        if photometric == "MONOCHROME1":
            display = (1.0 - display).astype(np.float32)
            meta["inverted"] = True
    spacing = _spacing(ds, values.ndim - (1 if samples > 1 else 0))
    return MedicalImage(
        values=values, display=display, spacing=spacing, affine=_affine(ds, spacing), meta=meta, source=file
    )


def _rescale(ds: Any, stored: np.ndarray) -> np.ndarray:
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return (stored.astype(np.float64) * slope + intercept).astype(np.float32)


def _first(value: Any) -> float:
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and not isinstance(value, str)):
        value = value[0]
    return float(value)


def _voi(ds: Any, values: np.ndarray, stored: np.ndarray, window: Window | None) -> tuple[np.ndarray, dict[str, Any]]:
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        function = "LINEAR"
    if window is None and ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        window = Window(_first(ds.WindowCenter), _first(ds.WindowWidth), function=function, name="file")
    if window is not None:
        return apply_window(values, window), {
            "center": window.center,
            "width": window.width,
            "function": window.function,
            "name": window.name,
        }
    lut_seq = ds.get("VOILUTSequence")
    if lut_seq:
        item = lut_seq[0]
        # Applied to the modality output (PS3.3 C.11.2.1.1); LUT Data may be stored as OW bytes.
        data = item.LUTData
        if isinstance(data, bytes):
            data = np.frombuffer(data, dtype="<u2")  # OW: 16-bit little-endian words
        return apply_voi_lut(values, item.LUTDescriptor, data), {"name": "file VOI LUT"}
    return robust_range(values), {"name": "percentile 0.5-99.5"}


def _spacing(ds: Any, ndim: int) -> tuple[float, ...]:
    pixel = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    row, col = (float(pixel[0]), float(pixel[1])) if pixel else (1.0, 1.0)
    if ndim == 3:
        between = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0
        return (float(between), row, col)
    return (row, col)


def _affine(ds: Any, spacing: tuple[float, ...]) -> np.ndarray | None:
    iop, ipp = ds.get("ImageOrientationPatient"), ds.get("ImagePositionPatient")
    if iop is None or ipp is None or len(iop) != 6:
        return None
    along_row = np.array([float(v) for v in iop[:3]])  # direction of increasing column index
    along_col = np.array([float(v) for v in iop[3:]])  # direction of increasing row index
    normal = np.cross(along_row, along_col)
    row_mm, col_mm = spacing[-2], spacing[-1]
    slice_mm = spacing[0] if len(spacing) == 3 else float(ds.get("SliceThickness", 1.0) or 1.0)
    lps = np.eye(4)
    columns = [along_col * row_mm, along_row * col_mm]  # array axes (row, col)
    columns = [normal * slice_mm, *columns] if len(spacing) == 3 else [*columns, normal * slice_mm]
    for axis, column in enumerate(columns):
        lps[:3, axis] = column
    lps[:3, 3] = [float(v) for v in ipp]
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
