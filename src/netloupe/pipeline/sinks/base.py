"""The sink contract: where explained items go (files, NIfTI, memory, a chunked store, the journal)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from ..items import ItemResult
from ..manifest import Record

__all__ = ["Sink"]


@runtime_checkable
class Sink(Protocol):
    """Receives each finished batch, in order, after the core.

    ``records`` holds the batch's manifest records by item id (failed items included); a sink adds
    what it wrote for an item to that item's record (file paths, store rows), so that the sinks after
    it — the journal last — and the manifest see the complete record.
    """

    def write(self, results: Sequence[ItemResult], records: Mapping[str, Record]) -> None:
        """Store ``results``; add what was written to ``records[item.id]``. Raise only for a broken sink."""
        ...

    def close(self) -> None:
        """Flush and release (called once, also after a failure or an interruption)."""
        ...
