"""The memory sink: keeps results and records in memory (the web app, the library's ``explain_files``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..items import ItemResult
from ..manifest import Record

__all__ = ["MemorySink"]


class MemorySink:
    """Collects every result and record, in order; nothing touches the disk."""

    def __init__(self) -> None:
        self.results: list[ItemResult] = []
        self.records: list[Record] = []

    def write(self, results: Sequence[ItemResult], records: Mapping[str, Record]) -> None:
        self.results.extend(results)
        self.records.extend(records.values())

    def close(self) -> None:
        return None
