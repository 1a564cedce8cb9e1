"""The driver: batches of items -> core -> sinks, with one progress callback and a stop flag.

The sinks of a batch run in one background thread while the core computes the next batch (at most
two batches wait to be written), in order, so every record reaches the journal after its files.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .core import ExplainCore
from .items import Item, ItemFailure, ItemResult
from .manifest import Record, done_record, failed_record
from .sinks.base import Sink

__all__ = ["Computed", "JobStats", "OnProgress", "StopFlag", "compute", "run_batches", "write_batches"]

OnProgress = Callable[[int], None]
"""Called with the number of items finished (explained or failed) since the last call."""

_MAX_PENDING = 2


class StopFlag:
    """Set by a signal handler or a caller to stop a run after the batch in flight."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signals = 0

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass
class JobStats:
    """What one pass over the batches did."""

    records: list[Record] = field(default_factory=list)  # in the order the items came
    layers: list[str] = field(default_factory=list)
    layer_info: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False

    @property
    def done(self) -> int:
        return sum(r.get("status") == "done" for r in self.records)

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.get("status") != "done"]


def _write(
    sinks: Sequence[Sink], results: list[ItemResult], failures: list[ItemFailure], order: list[str]
) -> list[Record]:
    records: dict[str, Record] = {r.id: done_record(r) for r in results}
    records.update({f.id: failed_record(f) for f in failures})
    ordered = {i: records[i] for i in order if i in records}
    for sink in sinks:
        sink.write([r for r in results if ordered[r.id].get("status") == "done"], ordered)
    return list(ordered.values())


Computed = tuple[list[ItemResult], list[ItemFailure], list[str]]
"""One batch after the core: results, failures and the batch's item order."""


def compute(
    core: ExplainCore, batches: Iterable[Sequence[Item | ItemFailure]], stop: StopFlag | None = None
) -> Iterator[Computed]:
    """Run the core over ``batches``; bad items become failures, a broken job raises (see the core)."""
    first = True
    for batch in batches:
        if stop is not None and stop.is_set():
            return
        items = [b for b in batch if isinstance(b, Item)]
        failures = [b for b in batch if isinstance(b, ItemFailure)]
        results, more = core.explain_isolated(items, first=first and not failures)
        first = first and not results
        yield results, failures + more, [b.id for b in batch]


def write_batches(
    computed: Iterable[Computed],
    sinks: Sequence[Sink],
    *,
    on_progress: OnProgress | None = None,
    stop: StopFlag | None = None,
) -> JobStats:
    """Hand each computed batch to ``sinks`` in a background thread, in order; returns the records."""
    stats = JobStats()
    start = time.perf_counter()
    pending: deque[Future[list[Record]]] = deque()

    def settle(fut: Future[list[Record]]) -> None:
        records = fut.result()
        stats.records.extend(records)
        if on_progress is not None:
            on_progress(len(records))

    with ThreadPoolExecutor(1, thread_name_prefix="netloupe-sinks") as writer:
        try:
            for results, failures, order in computed:
                pending.append(writer.submit(_write, sinks, results, failures, order))
                while len(pending) > _MAX_PENDING or (pending and pending[0].done()):
                    settle(pending.popleft())
        finally:
            while pending:  # whatever was computed is written and recorded, also when stopping or failing
                settle(pending.popleft())
    stats.stopped = stop is not None and stop.is_set()
    stats.seconds = time.perf_counter() - start
    return stats


def run_batches(
    core: ExplainCore,
    batches: Iterable[Sequence[Item | ItemFailure]],
    sinks: Sequence[Sink],
    *,
    on_progress: OnProgress | None = None,
    stop: StopFlag | None = None,
) -> JobStats:
    """Explain every batch with ``core`` and hand it to ``sinks``: :func:`compute` then :func:`write_batches`.

    Bad items (from the source or the core) become failure records and the run goes on; a batch in
    which every item fails before anything succeeded raises (the job itself is broken).
    """
    stats = write_batches(compute(core, batches, stop), sinks, on_progress=on_progress, stop=stop)
    stats.layers = core.layers
    stats.layer_info = core.layer_info
    return stats
