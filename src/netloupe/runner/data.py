"""Decoding and preprocessing dataset items, in DataLoader workers or in a Ray actor's threads.

A bad file never raises out of here: :func:`decode_item` returns a failure record with a one-line
reason, and :func:`collate_decoded` separates the good items (stacked into one batch) from the bad.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..io.images import read_image
from ..models.preprocess import ImagePreprocess
from .items import DatasetItem

__all__ = ["DecodedBatch", "ItemDataset", "collate_decoded", "decode_item", "one_line"]


def one_line(exc: BaseException) -> str:
    """``TypeName: first line of the message`` (the reason stored for a failed item)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def decode_item(index: int, item: DatasetItem, preprocess: ImagePreprocess) -> dict[str, object]:
    """Read and preprocess one image.

    Returns ``{"index", "tensor" (C, h, w) float32, "image" (H, W, 3) uint8 RGB}`` or, when the file
    cannot be read or preprocessed, ``{"index", "error": one-line reason}``.
    """
    try:
        image = read_image(item.source)
        tensor = preprocess(image)
        rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())
    except Exception as exc:  # any bad file becomes a record; the run goes on
        return {"index": index, "error": one_line(exc)}
    return {"index": index, "tensor": tensor, "image": rgb}


class ItemDataset(Dataset[dict[str, object]]):
    """A map-style torch Dataset over items; ``ds[i]`` is :func:`decode_item`'s dict (never raises)."""

    def __init__(self, items: Sequence[DatasetItem], preprocess: ImagePreprocess) -> None:
        self.items = list(items)
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, object]:
        return decode_item(index, self.items[index], self.preprocess)


@dataclass
class DecodedBatch:
    """Good items stacked for one pass, and the items that failed to decode."""

    indices: list[int] = field(default_factory=list)  # positions in the dataset of the good items
    inputs: Tensor | None = None  # (B, C, h, w) preprocessed
    images: list[Tensor] = field(default_factory=list)  # (H, W, 3) uint8 originals
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, reason)


def collate_decoded(samples: Sequence[dict[str, object]]) -> DecodedBatch:
    """DataLoader ``collate_fn``: stack the good items, keep the failures aside."""
    batch = DecodedBatch()
    tensors: list[Tensor] = []
    for s in samples:
        index = int(s["index"])  # type: ignore[call-overload]
        if "error" in s:
            batch.failures.append((index, str(s["error"])))
            continue
        batch.indices.append(index)
        tensors.append(s["tensor"])  # type: ignore[arg-type]
        batch.images.append(s["image"])  # type: ignore[arg-type]
    if tensors:  # same shape: the run uses batch size 1 when the preprocessing keeps each image's size
        batch.inputs = torch.stack(tensors)
    return batch
