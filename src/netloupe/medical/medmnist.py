"""MedMNIST v2 ``.npz`` files (Yang et al., Scientific Data 2023): official train/val/test splits.

The files are read from a path (by default ``<shared data>/<name>/<name>.npz``); nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .._paths import shared_data_dir
from .._typing import PathLikeStr
from ..errors import InputError

__all__ = ["DATASETS", "MedMNISTSpec", "MedMNISTSplit", "default_path", "load_split"]


@dataclass(frozen=True)
class MedMNISTSpec:
    """What a MedMNIST binary task is: its file name and the meaning of its labels."""

    name: str
    class_names: tuple[str, ...]
    modality: str
    licence: str = "CC BY 4.0"


DATASETS: dict[str, MedMNISTSpec] = {
    "pneumoniamnist": MedMNISTSpec("pneumoniamnist", ("normal", "pneumonia"), "paediatric chest X-ray"),
    "breastmnist": MedMNISTSpec("breastmnist", ("malignant", "normal/benign"), "breast ultrasound"),
}

_SPLITS = ("train", "val", "test")


@dataclass
class MedMNISTSplit:
    """One split: images as ``(N, 1, H, W)`` float in [0, 1] and labels as ``(N,)`` long."""

    images: Tensor
    labels: Tensor
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def default_path(name: str) -> Path:
    """``<shared data>/<name>/<name>.npz`` (raises InputError when the shared data folder is absent)."""
    base = shared_data_dir()
    if base is None:
        raise InputError(f"data: no shared data folder found for {name!r}; pass the .npz path or set $NETLOUPE_DATA")
    return base / name / f"{name}.npz"


def load_split(name: str, split: str, path: PathLikeStr | None = None) -> MedMNISTSplit:
    """Load one official split of a MedMNIST 2-D dataset.

    Args:
        name: ``pneumoniamnist`` or ``breastmnist``.
        split: ``train``, ``val`` or ``test``.
        path: the ``.npz`` file (default: :func:`default_path`).
    """
    if name not in DATASETS:
        raise InputError(f"dataset: expected one of {sorted(DATASETS)}, got {name!r}")
    if split not in _SPLITS:
        raise InputError(f"split: expected one of {list(_SPLITS)}, got {split!r}")
    file = Path(path) if path is not None else default_path(name)
    if not file.is_file():
        raise InputError(f"data: {file} does not exist (expected the official {name}.npz)")
    with np.load(file) as data:
        key = f"{split}_images"
        if key not in data:
            raise InputError(f"data: {file} has no {key!r} array; keys are {sorted(data.files)}")
        images = np.asarray(data[key], dtype=np.float32) / 255.0
        labels = np.asarray(data[f"{split}_labels"]).reshape(-1).astype(np.int64)
    return MedMNISTSplit(
        images=torch.from_numpy(images)[:, None],
        labels=torch.from_numpy(labels),
        class_names=DATASETS[name].class_names,
    )
