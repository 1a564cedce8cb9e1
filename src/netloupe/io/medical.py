"""Medical images in one type, read from DICOM or NIfTI, and maps written back in their geometry.

``read_medical(path)`` dispatches on the suffix (``.dcm``/``.dicom``/no suffix with a DICOM preamble ->
:func:`netloupe.io.dicom.read_dicom`; ``.nii``/``.nii.gz`` -> :func:`netloupe.io.nifti.read_nifti`).
``to_model_input`` turns the display grey levels into a batch for a model; ``resize_map`` brings a map
from the model's input grid back to the image's grid; ``save_medical_explanation`` writes what a viewer
needs (NIfTI map with the input's affine, PNG overlay/montage, ``.npy`` array, JSON manifest).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._typing import PathLikeStr
from ..errors import InputError, NetloupeError

__all__ = [
    "MEDICAL_SUFFIXES",
    "MedicalImage",
    "is_medical_path",
    "read_medical",
    "read_medical_batch",
    "resize_map",
    "save_medical_explanation",
    "to_model_input",
]

MEDICAL_SUFFIXES = (".dcm", ".dicom", ".nii", ".nii.gz")


@dataclass
class MedicalImage:
    """Pixels or voxels with their geometry.

    Attributes:
        values: modality values (HU for CT after rescale; raw intensities for MR/NIfTI), float32,
            ``(H, W)``, ``(D, H, W)``/``(I, J, K)`` or ``(H, W, 3)`` for colour.
        display: the same grid as grey levels in [0, 1] after windowing (and MONOCHROME1 inversion).
        spacing: voxel size in mm per spatial axis, in array order.
        affine: 4x4 array index -> RAS+ mm, or None when the file has no position/orientation.
        meta: format, modality, window, orientation, frame/volume/slice chosen, ...
        source: the file read.
    """

    values: np.ndarray
    display: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    @property
    def is_color(self) -> bool:
        return (
            self.values.ndim == 3
            and self.values.shape[-1] == 3
            and self.meta.get("format") == "dicom"
            and self.meta.get("photometric", "").startswith(("RGB", "YBR", "PALETTE"))
        )

    @property
    def ndim(self) -> int:
        """Spatial dimensions: 2 for images (colour included), 3 for volumes."""
        return 2 if self.is_color else self.values.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        """Spatial shape."""
        return tuple(self.values.shape[: self.ndim])


def is_medical_path(path: PathLikeStr) -> bool:
    """True for ``.dcm``, ``.dicom``, ``.nii`` and ``.nii.gz`` names (case-insensitive)."""
    name = str(path).lower()
    return name.endswith(MEDICAL_SUFFIXES)


def _has_dicom_preamble(path: Path) -> bool:
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
) -> MedicalImage:
    """Read a DICOM or NIfTI file (see the module docstring).

    Args:
        path: the file.
        window: CT window preset or ``"CENTER,WIDTH"`` (None: the file's own window, else percentiles).
        frame: DICOM multi-frame: keep one frame.
        volume: 4-D NIfTI: the volume to keep (required for 4-D files).
        slice_axis: take one 2-D slice of a 3-D image perpendicular to this array axis (for 2-D models).
        slice_index: which slice (default: the middle one).
    """
    file = Path(path)
    name = file.name.lower()
    if not file.exists():
        raise InputError(f"path: {file} does not exist")
    if name.endswith((".nii", ".nii.gz")):
        from .nifti import read_nifti

        if frame is not None:
            raise InputError("frame: applies to multi-frame DICOM; for 4-D NIfTI use volume=")
        image = read_nifti(file, volume=volume, window=window)
    elif name.endswith((".dcm", ".dicom")) or _has_dicom_preamble(file):
        from .dicom import read_dicom

        if volume is not None:
            raise InputError("volume: applies to 4-D NIfTI; for multi-frame DICOM use frame=")
        image = read_dicom(file, window=window, frame=frame)
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


def save_medical_explanation(
    image: MedicalImage,
    heatmap: Tensor | np.ndarray,
    out_dir: PathLikeStr,
    stem: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Write a map computed on ``image`` in the image's own geometry; returns ``{kind: path}``.

    * ``<stem>_map.npy``: the map on the image grid (float32);
    * ``<stem>_map.nii.gz``: the map as NIfTI with the image's affine (when the image has one);
    * ``<stem>_overlay.png`` (2-D) or ``<stem>_montage.png`` (3-D: axial slices with the map);
    * ``<stem>_manifest.json``: shape, spacing (mm), affine, window, source, and the other files.

    Args:
        image: the image the map explains.
        heatmap: a map on the model's grid (resized here to the image grid), spatial dims only.
        out_dir: output folder (created).
        stem: file name prefix.
        extra: more manifest entries (model, method, class, score, ...).
    """
    from ..viz.medical import save_montage, save_overlay

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grid = resize_map(np.asarray(torch.as_tensor(heatmap).detach().cpu()), image.shape).astype(np.float32)
    written: dict[str, str] = {}
    try:
        npy = out / f"{stem}_map.npy"
        _atomic_npy(npy, grid)
        written["map"] = str(npy)
        if image.affine is not None:
            from .nifti import write_nifti_map

            written["nifti"] = str(write_nifti_map(grid, image, out / f"{stem}_map.nii.gz"))
        if image.ndim == 3:
            written["montage"] = str(save_montage(image.display, grid, out / f"{stem}_montage.png"))
        else:
            written["overlay"] = str(save_overlay(image.display, grid, out / f"{stem}_overlay.png"))
        manifest = {
            "source": str(image.source) if image.source else None,
            "shape": list(image.shape),
            "spacing_mm": [float(s) for s in image.spacing],
            "affine": None if image.affine is None else np.asarray(image.affine).round(6).tolist(),
            "meta": image.meta,
            "files": dict(written),
            **(extra or {}),
        }
        path = out / f"{stem}_manifest.json"
        tmp = path.with_suffix(".json.part")
        tmp.write_text(json.dumps(manifest, indent=2, default=str))
        tmp.replace(path)
        written["manifest"] = str(path)
    except Exception:
        for p in written.values():
            Path(p).unlink(missing_ok=True)
        raise
    return written


def _atomic_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        np.save(fh, array)
    tmp.replace(path)
