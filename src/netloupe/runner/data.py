"""Decoding dataset items in DataLoader worker processes (or a Ray actor's threads) with the job's reader.

A bad file never raises out of here: :func:`netloupe.pipeline.decode` turns it into an ``ItemFailure``
with a one-line reason, and the batch goes on with the other items.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch.utils.data import Dataset

from ..pipeline.items import Item, ItemFailure
from ..pipeline.sources import Reader, decode
from .items import DatasetItem

__all__ = ["ItemDataset", "collate_items"]


class ItemDataset(Dataset[Item | ItemFailure]):
    """A map-style torch Dataset over dataset items; ``ds[i]`` is an ``Item`` or an ``ItemFailure``."""

    def __init__(self, items: Sequence[DatasetItem], reader: Reader) -> None:
        self.items = list(items)
        self.reader = reader

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Item | ItemFailure:
        item = self.items[index]
        return decode(self.reader, item.source, item.id, item.label)


def collate_items(samples: Sequence[Item | ItemFailure]) -> list[Item | ItemFailure]:
    """DataLoader ``collate_fn``: keep the batch as a list (the core stacks items of equal shape)."""
    return list(samples)
