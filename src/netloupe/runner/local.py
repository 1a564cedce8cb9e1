"""The local backend: DataLoader workers decode, the core computes, the sinks write (overlapping).

Three stages overlap: worker processes read and preprocess the next batches while the main thread runs
the shared pass (plus resizing and overlays) on the device, while the sinks of the previous batch
encode and write its files and journal its records.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader

from ..pipeline.core import ExplainCore
from ..pipeline.run import JobStats, OnProgress, StopFlag, run_batches
from ..pipeline.sinks.base import Sink
from ..pipeline.sources import Reader
from .data import ItemDataset, collate_items
from .items import DatasetItem

__all__ = ["run_local"]


def _quiet_worker(_worker_id: int) -> None:
    # Ctrl-C and SIGTERM are handled by the main process, which stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run_local(
    core: ExplainCore,
    todo: Sequence[DatasetItem],
    reader: Reader,
    sinks: Sequence[Sink],
    workers: int,
    on_progress: OnProgress | None,
    stop: StopFlag,
) -> JobStats:
    """Explain ``todo`` with ``workers`` decoding processes (0: decode in this process)."""
    loader = DataLoader(
        ItemDataset(todo, reader),
        batch_size=core.request.batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate_items,
        prefetch_factor=4 if workers > 0 else None,
        pin_memory=core.device.type == "cuda" and torch.cuda.is_available(),
        worker_init_fn=_quiet_worker if workers > 0 else None,
    )
    try:
        return run_batches(core, loader, sinks, on_progress=on_progress, stop=stop)
    finally:
        del loader
