"""The backend protocol: how a dataset run's items are computed (the local pipeline or Ray Data actors)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..pipeline.request import ExplainRequest
from ..pipeline.run import JobStats, StopFlag
from ..pipeline.sinks.base import Sink
from ..pipeline.sources import Reader
from .items import DatasetItem

__all__ = ["Backend", "BackendJob"]


@dataclass
class BackendJob:
    """What a backend runs: the request, the items still to do, how to read them and where results go.

    ``sinks`` are called in order for every batch (the journal last); ``workers``/``writers`` as in
    :func:`run_dataset`; the backend stops after the batch in flight when ``stop`` is set.
    """

    request: ExplainRequest
    todo: Sequence[DatasetItem]
    reader: Reader
    sinks: Sequence[Sink]
    workers: int | None
    writers: int
    on_progress: Callable[[int], None] | None
    stop: StopFlag


class Backend(Protocol):
    """How a run's items are computed: the local DataLoader pipeline or Ray Data actors."""

    def __call__(self, job: BackendJob) -> JobStats: ...
