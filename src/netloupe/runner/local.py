"""The local backend: DataLoader workers decode, the core computes, the sinks write (overlapping).

Three stages overlap: worker processes read and preprocess the next batches while the main thread runs
the shared pass (plus resizing and overlays) on the device, while the sinks of the previous batch
encode and write its files and journal its records.
"""

from __future__ import annotations

import signal

import torch
from torch.utils.data import DataLoader

from ..pipeline.core import ExplainCore
from ..pipeline.run import JobStats, run_batches
from .backend import BackendJob
from .data import ItemDataset, collate_items
from .resources import default_decode_workers

__all__ = ["run_local"]


def _quiet_worker(_worker_id: int) -> None:
    # Ctrl-C and SIGTERM are handled by the main process, which stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run_local(job: BackendJob) -> JobStats:
    """Explain ``job.todo`` with ``job.workers`` decoding processes (None: auto; 0: in this process)."""
    core = ExplainCore(job.request)
    workers = default_decode_workers() if job.workers is None else job.workers
    loader = DataLoader(
        ItemDataset(job.todo, job.reader),
        batch_size=job.request.batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate_items,
        prefetch_factor=4 if workers > 0 else None,
        pin_memory=core.device.type == "cuda" and torch.cuda.is_available(),
        worker_init_fn=_quiet_worker if workers > 0 else None,
    )
    try:
        return run_batches(core, loader, job.sinks, on_progress=job.on_progress, stop=job.stop)
    finally:
        del loader
