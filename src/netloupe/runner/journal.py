"""The run's memory on disk: ``run.json`` (what is being computed) and ``journal.jsonl`` (what is done).

The journal is append-only JSON lines, one record per finished or failed item, flushed and
``fsync``'d once per batch. A record is appended only after the item's files are in place, so every
``done`` record points at complete files. A line torn by a kill is ignored when read, and the next
append starts on a fresh line; the latest record of an item wins (a failed item retried later).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..io.atomic import atomic_write_json
from ..pipeline.items import ItemResult

__all__ = ["CONFIG_NAME", "JOURNAL_NAME", "JobConfig", "Journal", "JournalSink", "check_config"]

JOURNAL_NAME = "journal.jsonl"
CONFIG_NAME = "run.json"
_CONFIG_KEYS = ("model", "methods", "top_k", "layer", "store")


@dataclass(frozen=True)
class JobConfig:
    """What a run computes; a resumed run must ask for the same."""

    model: str
    methods: list[str]
    top_k: int
    layer: str | None
    store: str | None = None

    def identity(self) -> dict[str, object]:
        """The fields that ``run.json`` records and a resumed run must match."""
        return {
            "model": self.model,
            "methods": self.methods,
            "top_k": self.top_k,
            "layer": self.layer,
            "store": self.store,
        }


class Journal:
    """Append-only record of finished and failed items, keyed by item id."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, object]]:
        """The latest record of every item (torn or unreadable lines are skipped)."""
        latest: dict[str, dict[str, object]] = {}
        if not self.path.exists():
            return latest
        with self.path.open("r", encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("id"), str):
                    latest[record["id"]] = record
        return latest

    def append(self, records: Iterable[dict[str, object]]) -> None:
        """Append records and make them durable (one ``fsync`` per call)."""
        lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        if not lines:
            return
        with self.path.open("ab") as fh:
            if fh.tell() > 0 and not _ends_with_newline(self.path):
                fh.write(b"\n")  # a line torn by a kill stays a separate, skipped line
            fh.write(lines.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())


class JournalSink:
    """The last sink of a run: appends each batch's complete records to the journal (one ``fsync``)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def write(self, results: Sequence[ItemResult], records: Mapping[str, dict[str, object]]) -> None:
        self.journal.append(records.values())

    def close(self) -> None:
        return None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def check_config(out_dir: Path, job: JobConfig) -> None:
    """Record what this output folder computes; refuse to mix a different job into it.

    Raises:
        InputError: ``out_dir`` holds a run of another model, methods, top-k or layer.
    """
    config = job.identity()
    path = out_dir / CONFIG_NAME
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = None
        if isinstance(old, dict):
            diff = [k for k in _CONFIG_KEYS if old.get(k) != config.get(k)]
            if diff:
                was = ", ".join(f"{k}={old.get(k)!r}" for k in diff)
                now = ", ".join(f"{k}={config.get(k)!r}" for k in diff)
                raise InputError(
                    f"out: {out_dir} holds a run with {was}, this run asks for {now}; "
                    "re-run with the same options to resume, or choose another --out"
                )
            return
    atomic_write_json(path, config)
