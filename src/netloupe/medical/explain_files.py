"""``netloupe explain`` for DICOM and NIfTI files: maps written back in each file's geometry.

For a 2-D model, a 2-D image (a DICOM slice, a 2-D NIfTI, a chosen frame or slice) is windowed, turned
into the model's input with its own preprocessing and explained; a 3-D input without a chosen slice
uses its middle slice (NIfTI: along the third voxel axis; multi-frame DICOM: the middle frame), which the
manifest records. A model whose ``input_kind`` is ``"volume"`` receives the whole volume. Every map is
saved with :func:`netloupe.io.medical.save_medical_explanation` (NIfTI map with the input's affine, PNG
overlay or montage, ``.npy``, manifest with the spacing). A file that cannot be read is recorded in
``failures.json`` and the others go on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .._typing import PathLikeStr
from ..errors import InputError, NetloupeError
from ..io.medical import MedicalImage, read_medical, save_medical_explanation, to_model_input
from ..models.zoo import LoadedModel

__all__ = ["explain_medical_files", "medical_model_input"]


def medical_model_input(image: MedicalImage, loaded: LoadedModel) -> torch.Tensor:
    """The ``(1, C, ...)`` model input of a medical image, with the model's own preprocessing."""
    if loaded.input_kind == "volume":
        if image.ndim != 3:
            raise InputError(f"image: {loaded.name} explains volumes, {image.source} is 2-D; use a 2-D model")
        return to_model_input(image)
    if image.ndim != 2:
        raise InputError(f"image: {loaded.name} is a 2-D model; choose a slice of {image.source} (--slice-axis)")
    grey = (np.clip(image.display, 0, 1) * 255).round().astype(np.uint8)
    pil = Image.fromarray(grey if grey.ndim == 2 else grey[..., :3])
    return loaded.preprocess.batch([pil])


def explain_medical_files(
    paths: Sequence[PathLikeStr],
    loaded: LoadedModel,
    methods: Sequence[str],
    out_dir: PathLikeStr,
    target: int | str | None = None,
    layer: str | None = None,
    window: str | None = None,
    frame: int | None = None,
    volume: int | None = None,
    slice_axis: int | None = None,
    slice_index: int | None = None,
    device: str | torch.device = "cpu",
    on_file: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Explain each file; returns (per-file records, failures). See the module docstring."""
    import netloupe

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = loaded.model.to(device)
    records: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for path in paths:
        try:
            image = read_medical(
                path, window=window, frame=frame, volume=volume, slice_axis=slice_axis, slice_index=slice_index
            )
            if image.ndim == 3 and loaded.input_kind != "volume":
                from ..io.nifti import extract_slice

                image = extract_slice(image, 0 if image.meta.get("format") == "dicom" else 2)
            x = medical_model_input(image, loaded).to(device)
            res = netloupe.explain(
                model,
                x,
                methods=list(methods),
                targets=target,
                layer=layer or loaded.target_layer,
                class_names=loaded.class_names,
            )
            class_id = int(res.class_ids[0, 0]) if res.class_ids is not None else -1
            probs = res.probabilities[0].detach().cpu()
            extra = {
                "model": loaded.name,
                "layers": res.layers,
                "class_index": class_id,
                "label": loaded.class_names[class_id] if 0 <= class_id < len(loaded.class_names) else str(class_id),
                "probability": round(float(probs[class_id]), 6) if class_id >= 0 else None,
            }
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(path).name.replace(".nii.gz", "").rsplit(".", 1)[0])
            files = {
                m: save_medical_explanation(
                    image, res.maps[m][0, 0].detach().cpu(), out, f"{stem}_{m}", {**extra, "method": m}
                )
                for m in methods
            }
            records.append({"source": str(path), **extra, "files": files})
        except (NetloupeError, OSError) as exc:
            failures.append({"path": str(path), "error": str(exc)})
        if on_file is not None:
            on_file()
    if failures:
        (out / "failures.json").write_text(json.dumps(failures, indent=2))
    return records, failures
