"""Medical images in one type, read from DICOM or NIfTI, and maps written back in their geometry.

``read_medical(path)`` dispatches on the suffix (``.dcm``/``.dicom``/no suffix with a DICOM preamble ->
:func:`netloupe.io.dicom.read_dicom`; ``.nii``/``.nii.gz`` -> :func:`netloupe.io.nifti.read_nifti`).
``to_model_input`` turns the display grey levels into a batch for a model; ``resize_map`` brings a map
from the model's input grid back to the image's grid. Maps are written back in the source geometry by
the explain job's NIfTI sink (:mod:`netloupe.pipeline.sinks.nifti`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._typing import PathLikeStr
from ..errors import InputError, NetloupeError
from .limits import MAX_VOXELS
from .medical_image import MedicalImage

__all__ = [
    "MEDICAL_SUFFIXES",
    "MedicalImage",
    "check_medical_options",
    "has_dicom_preamble",
    "is_medical_path",
    "read_medical",
    "read_medical_batch",
    "resize_map",
    "to_model_input",
]

MEDICAL_SUFFIXES = (".dcm", ".dicom", ".nii", ".nii.gz")


def is_medical_path(path: PathLikeStr) -> bool:
    """True for ``.dcm``, ``.dicom``, ``.nii`` and ``.nii.gz`` names (case-insensitive)."""
    name = str(path).lower()
    return name.endswith(MEDICAL_SUFFIXES)


def check_medical_options(
    paths: Sequence[PathLikeStr],
    *,
    window: str | None = None,
    frame: int | None = None,
    volume: int | None = None,
    slice_axis: int | None = None,
    slice_index: int | None = None,
) -> None:
    """Refuse DICOM/NIfTI-only options that cannot apply, before any work starts.

    A window that is neither a preset nor ``CENTER,WIDTH`` raises (:func:`~netloupe.io.windowing.parse_window`),
    and any of these options given while no input is DICOM/NIfTI raises instead of being silently ignored.

    Raises:
        InputError: naming the CLI option (``--window``, ``--frame``, ...).
    """
    from .windowing import parse_window

    if window is not None:
        parse_window(window)
    given = {
        "--window": window,
        "--frame": frame,
        "--volume": volume,
        "--slice-axis": slice_axis,
        "--slice-index": slice_index,
    }
    named = [k for k, v in given.items() if v is not None]
    if named and paths and not any(is_medical_path(p) for p in paths):
        raise InputError(
            f"{named[0]}: applies to DICOM/NIfTI inputs only (.dcm, .nii, .nii.gz); {Path(paths[0]).name} is not one"
        )
    if frame is not None and frame < 0:
        raise InputError(f"--frame: expected >= 0, got {frame}")
    if volume is not None and volume < 0:
        raise InputError(f"--volume: expected >= 0, got {volume}")
    if slice_axis is not None and slice_axis not in (0, 1, 2):
        raise InputError(f"--slice-axis: expected 0, 1 or 2, got {slice_axis}")
    if slice_index is not None and slice_index < 0:
        raise InputError(f"--slice-index: expected >= 0, got {slice_index}")


def has_dicom_preamble(path: Path) -> bool:
    """True for a file whose bytes 128-131 are ``DICM`` (a DICOM file, whatever its name)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_medical(
    path: PathLikeStr,
    *,
    window: str | tuple[float, float] | None = None,
    frame: int | None = None,
    volume: int | None = None,
    slice_axis: int | None = None,
    slice_index: int | None = None,
    max_voxels: int | None = MAX_VOXELS,
) -> MedicalImage:
    """Read a DICOM or NIfTI file (see the module docstring).

    Args:
        path: the file.
        window: CT window preset or ``"CENTER,WIDTH"`` (None: the file's own window, else percentiles).
        frame: DICOM multi-frame: keep one frame.
        volume: 4-D NIfTI: the volume to keep (required for 4-D files).
        slice_axis: take one 2-D slice of a 3-D image perpendicular to this array axis (for 2-D models).
        slice_index: which slice (default: the middle one).
        max_voxels: refuse files whose header promises more values than this, before decoding them
            (:class:`~netloupe.io.limits.InputTooLarge`; None: no limit).
    """
    file = Path(path)
    name = file.name.lower()
    if not file.exists():
        raise InputError(f"path: {file} does not exist")
    if name.endswith((".nii", ".nii.gz")):
        from .nifti import read_nifti

        if frame is not None:
            raise InputError("frame: applies to multi-frame DICOM; for 4-D NIfTI use volume=")
        image = read_nifti(file, volume=volume, window=window, max_voxels=max_voxels)
    elif name.endswith((".dcm", ".dicom")) or has_dicom_preamble(file):
        from .dicom import read_dicom

        if volume is not None:
            raise InputError("volume: applies to 4-D NIfTI; for multi-frame DICOM use frame=")
        image = read_dicom(file, window=window, frame=frame, max_voxels=max_voxels)
    else:
        raise InputError(f"path: {file} is neither DICOM (.dcm, or a 'DICM' preamble) nor NIfTI (.nii, .nii.gz)")
    if slice_axis is not None or slice_index is not None:
        from .nifti import extract_slice

        image = extract_slice(image, 2 if slice_axis is None else slice_axis, slice_index)
    return image


def read_medical_batch(paths: Sequence[PathLikeStr], **options: Any) -> tuple[list[MedicalImage], list[dict[str, str]]]:
    """Read many files; a file that fails is recorded (path + one-line reason) and the rest go on."""
    images: list[MedicalImage] = []
    failures: list[dict[str, str]] = []
    for path in paths:
        try:
            images.append(read_medical(path, **options))
        except (NetloupeError, OSError) as exc:
            failures.append({"path": str(path), "error": str(exc)})
    return images, failures


def to_model_input(
    image: MedicalImage,
    size: Sequence[int] | None = None,
    channels: int = 1,
    mean: float = 0.5,
    std: float = 0.5,
) -> Tensor:
    """Display grey levels -> a ``(1, C, *spatial)`` float batch, resized to ``size`` and normalised.

    Args:
        image: the image (2-D or 3-D; colour is converted to grey by the mean of RGB when ``channels`` is 1).
        size: spatial size the model expects (bilinear / trilinear resize); None keeps the image grid.
        channels: 1, or 3 to repeat grey into RGB.
        mean: subtracted after the [0, 1] display scaling.
        std: divided after the mean.
    """
    arr = np.asarray(image.display, dtype=np.float32)
    x = torch.from_numpy(np.ascontiguousarray(arr))
    if image.is_color:
        x = x.permute(2, 0, 1)[None]
        if channels == 1:
            x = x.mean(dim=1, keepdim=True)
    else:
        x = x[None, None]
        if channels == 3:
            x = x.expand(1, 3, *x.shape[2:]).contiguous()
    if size is not None:
        size = tuple(int(s) for s in size)
        if len(size) != x.ndim - 2:
            raise InputError(f"size: the image is {x.ndim - 2}-D, got a {len(size)}-D size {size}")
        mode = "bilinear" if len(size) == 2 else "trilinear"
        x = F.interpolate(x, size=size, mode=mode, align_corners=False)
    return (x - mean) / std


def resize_map(heatmap: Tensor | np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Resample a map (any leading dims, spatial last) onto the image grid ``shape`` (linear interpolation)."""
    t = torch.as_tensor(np.asarray(heatmap) if not isinstance(heatmap, Tensor) else heatmap).detach().float().cpu()
    shape = tuple(int(s) for s in shape)
    spatial = t.shape[-len(shape) :]
    if tuple(spatial) == shape:
        return t.numpy()
    lead = t.shape[: -len(shape)]
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(shape)]
    out = F.interpolate(t.reshape(1, -1, *spatial), size=shape, mode=mode, align_corners=False)
    return out.reshape(*lead, *shape).numpy()
