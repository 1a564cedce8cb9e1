"""Datasets for audits: MedMNIST splits (by name or ``.npz``) and folders of class sub-folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..models.zoo import LoadedModel
from .medmnist import DATASETS, load_split
from .shortcut import Marker, add_marker

__all__ = ["load_audit_images"]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def load_audit_images(
    dataset: str, loaded: LoadedModel, split: str = "test", marker: str | None = None, limit: int | None = None
) -> tuple[Tensor, Tensor, list[str]]:
    """Model inputs ``(N, C, H, W)``, labels ``(N,)`` and class names for an audit.

    ``dataset`` is a MedMNIST name, a MedMNIST-style ``.npz`` (``<split>_images``/``<split>_labels``) or a
    folder whose sub-folders are the classes (sorted names; images inside). ``marker`` stamps the
    synthetic tag (:class:`~netloupe.medical.shortcut.Marker`) on every image before preprocessing.
    """
    path = Path(dataset)
    if dataset in DATASETS or path.suffix == ".npz":
        name = dataset if dataset in DATASETS else next((n for n in DATASETS if path.name.startswith(n)), None)
        if name is None:
            name = "pneumoniamnist"
        part = load_split(name, split, None if dataset in DATASETS else path)
        raw, labels, class_names = part.images, part.labels, list(part.class_names)
        if limit is not None:
            raw, labels = raw[:limit], labels[:limit]
        if marker:
            raw = add_marker(raw, Marker(corner=marker))
        arrays = [(img[0].numpy() * 255).round().astype(np.uint8) for img in raw]
    elif path.is_dir():
        class_dirs = sorted(p for p in path.iterdir() if p.is_dir())
        if not class_dirs:
            raise InputError(f"dataset: {path} has no class sub-folders (expected <class>/<image files>)")
        from PIL import Image

        arrays, label_list = [], []
        for c, folder in enumerate(class_dirs):
            for file in sorted(folder.iterdir()):
                if file.suffix.lower() in _IMAGE_SUFFIXES:
                    arrays.append(
                        np.asarray(Image.open(file).convert("L" if loaded.preprocess.channels == 1 else "RGB"))
                    )
                    label_list.append(c)
        arrays, label_list = arrays[:limit], label_list[:limit]
        if marker:
            raise InputError("marker: the synthetic tag is only for MedMNIST datasets")
        labels = torch.tensor(label_list, dtype=torch.long)
        class_names = [p.name for p in class_dirs]
    else:
        raise InputError(f"dataset: expected {sorted(DATASETS)}, a .npz file or a folder, got {dataset!r}")
    if not arrays:
        return torch.zeros(0, loaded.preprocess.channels, 1, 1), labels, class_names
    return loaded.preprocess.batch(arrays), labels, class_names
