"""Sources: inputs of every kind turned into :class:`~netloupe.pipeline.items.Item` s the same way.

Photos and image arrays (PNG, JPEG, TIFF, BMP, ``.npy``, ...) keep their own size for display; DICOM
and NIfTI files are windowed (``MedicalOptions``) and keep their geometry, so the maps go back to the
source grid. A 2-D model gets a 2-D image (a slice, a frame; the middle slice of a volume unless one
is chosen); a volume model (``input_kind == "volume"``) gets the whole volume.

:func:`decode` never raises for a bad input: it returns an :class:`ItemFailure` with a one-line reason,
so every front end applies the same failure policy (record the item, go on, report at the end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import InputError
from ..io.images import read_image
from ..io.medical import MedicalImage, has_dicom_preamble, is_medical_path
from ..models.preprocess import ImagePreprocess
from .items import Item, ItemFailure, one_line, slug

__all__ = ["MedicalOptions", "Reader", "decode", "file_ids", "image_item", "medical_item"]


@dataclass(frozen=True)
class MedicalOptions:
    """How DICOM/NIfTI inputs are read (see :func:`netloupe.io.medical.read_medical`)."""

    window: str | None = None
    frame: int | None = None
    volume: int | None = None
    slice_axis: int | None = None
    slice_index: int | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "frame": self.frame,
            "volume": self.volume,
            "slice_axis": self.slice_axis,
            "slice_index": self.slice_index,
        }


def _medical_stem(name: str) -> str:
    lower = name.lower()
    for suffix in (".nii.gz", ".nii", ".dcm", ".dicom"):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def file_ids(sources: Sequence[str]) -> list[str]:
    """Unique ids from file names: the stem, then ``stem-1``, ``stem-2`` for repeats (in order)."""
    seen: dict[str, int] = {}
    ids = []
    for source in sources:
        stem = slug(_medical_stem(Path(source).name))
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        ids.append(stem if count == 0 else f"{stem}-{count}")
    return ids


def _rgb(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())


def image_item(image: Image.Image, id: str, preprocess: ImagePreprocess, source: str = "", label: str = "") -> Item:
    """A photo (any size) as an item: the model's input and the picture at its own size."""
    return Item(id=id, source=source or id, tensor=preprocess(image), display=_rgb(image), label=label)


def medical_item(
    image: MedicalImage, id: str, preprocess: ImagePreprocess, input_kind: str = "image", label: str = ""
) -> Item:
    """A DICOM/NIfTI image as an item; a 3-D image meets a 2-D model as its middle slice (or the chosen one)."""
    from ..io.medical import to_model_input
    from ..io.nifti import extract_slice

    source = str(image.source) if image.source is not None else id
    if input_kind == "volume":
        if image.ndim != 3:
            raise InputError(f"image: the model explains volumes, {source} is 2-D; use a 2-D model")
        return Item(id=id, source=source, tensor=to_model_input(image)[0], medical=image, label=label)
    if image.ndim == 3:
        image = extract_slice(image, 0 if image.meta.get("format") == "dicom" else 2)
    grey = (np.clip(np.nan_to_num(image.display), 0, 1) * 255).round().astype(np.uint8)
    pil = Image.fromarray(grey if grey.ndim == 2 else np.ascontiguousarray(grey[..., :3]))
    meta: dict[str, Any] = {
        k: image.meta[k] for k in ("window", "slice_axis", "slice_index", "frame", "volume") if k in image.meta
    }
    return Item(id=id, source=source, tensor=preprocess(pil), display=_rgb(pil), medical=image, label=label, meta=meta)


@dataclass(frozen=True)
class Reader:
    """Reads one input of any supported kind into an :class:`Item` (picklable: DataLoader workers use it)."""

    preprocess: ImagePreprocess
    input_kind: str = "image"
    medical: MedicalOptions = MedicalOptions()

    def __call__(self, source: str, id: str, label: str = "") -> Item:
        """Read and preprocess ``source``; raises on a bad input (see :func:`decode` for the safe form)."""
        if is_medical_path(source) or has_dicom_preamble(Path(source)):  # by name, else by content
            from ..io.medical import read_medical

            image = read_medical(source, **self.medical.as_kwargs())
            return medical_item(image, id, self.preprocess, self.input_kind, label)
        if self.input_kind == "volume":
            raise InputError(f"image: the model explains volumes (DICOM/NIfTI); {source} is a picture")
        return image_item(read_image(source), id, self.preprocess, source, label)


def decode(reader: Reader, source: str, id: str, label: str = "") -> Item | ItemFailure:
    """:class:`Reader` with the failure policy: a bad input becomes an :class:`ItemFailure`."""
    try:
        return reader(source, id, label)
    except Exception as exc:  # any bad file becomes a record; the run goes on
        return ItemFailure(id=id, source=source, reason=one_line(exc))
