"""What flows through the explain job: items in, results (or failures) out.

An :class:`Item` is one input made ready for the model by a source (``pipeline.sources``): its model
tensor, the picture that overlays are drawn on and, for DICOM/NIfTI, the geometry the maps go back
to. The core turns items into :class:`ItemResult` s; a source or the core turns an input that cannot be
explained into an :class:`ItemFailure` (the run records it and goes on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from torch import Tensor

if TYPE_CHECKING:
    from ..io.medical import MedicalImage

__all__ = ["Item", "ItemFailure", "ItemResult", "one_line", "slug"]


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (letters, digits, ``._-``; never empty)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "item"


def one_line(exc: BaseException) -> str:
    """``TypeName: first line of the message``: the reason recorded for a failed item."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@dataclass
class Item:
    """One input, ready for the model.

    Attributes:
        id: unique, file-name-safe name (the item's output folder, its row in a store).
        source: where it came from (a path, or a name for in-memory inputs).
        tensor: the preprocessed model input ``(C, *spatial)`` on the CPU.
        display: ``(H, W, 3)`` uint8 RGB picture the maps are drawn on (a photo at its own size, a
            windowed DICOM/NIfTI slice); None for volumes.
        medical: the DICOM/NIfTI image with its geometry (spacing, affine) when the input is one; maps
            are brought back to its grid.
        label: a label given with the input (a CSV column), '' when none.
        meta: facts about the input worth recording (window, slice, frame, ...).
    """

    id: str
    source: str
    tensor: Tensor
    display: Tensor | None = None
    medical: MedicalImage | None = None
    label: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def grid(self) -> tuple[int, ...]:
        """The grid the item's maps are stored on: the picture's size, else the volume's shape."""
        if self.display is not None:
            return (int(self.display.shape[0]), int(self.display.shape[1]))
        if self.medical is not None:
            return tuple(int(s) for s in self.medical.shape)
        return tuple(int(s) for s in self.tensor.shape[1:])


@dataclass
class ItemFailure:
    """An input that could not be explained, with a one-line reason."""

    id: str
    source: str
    reason: str


@dataclass
class ItemResult:
    """One item explained.

    Attributes:
        item: the input.
        class_ids: explained class per rank (``-1`` for callable targets).
        labels: their names.
        probabilities: their probabilities (NaN for callable targets).
        maps: method -> ``(K, *grid)`` float32 maps in [0, 1] (K explained classes, ``grid`` as chosen
            by the request: the item's own grid, or the model's input grid).
        overlays: method -> ``(K, H, W, 3)`` uint8 overlays, when the request asked for them.
        layers: the target layers the maps come from.
        scores: the raw target scores (e.g. the explained classes' logits).
    """

    item: Item
    class_ids: list[int]
    labels: list[str]
    probabilities: list[float]
    maps: dict[str, np.ndarray]
    overlays: dict[str, np.ndarray] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def image(self) -> Image.Image | None:
        """The picture the maps are drawn on (None for volumes)."""
        return None if self.item.display is None else Image.fromarray(self.item.display.numpy())

    def predictions(self) -> list[dict[str, Any]]:
        """``[{"rank", "class_index", "label", "probability"}]``, most probable first."""
        return [
            {"rank": r + 1, "class_index": c, "label": lab, "probability": None if p != p else round(p, 6)}
            for r, (c, lab, p) in enumerate(zip(self.class_ids, self.labels, self.probabilities, strict=True))
        ]
