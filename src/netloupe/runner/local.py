"""The local engine: DataLoader workers decode, the device computes, a thread pool writes.

Three stages overlap: worker processes read and preprocess the next batches while the main thread
runs the shared pass (plus resizing and overlays) on the device, while writer threads encode the
PNGs and arrays of earlier batches. A batch is journaled (one ``fsync``) as soon as all its files
are in place, in submission order.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..models.zoo import LoadedModel
from .data import ItemDataset, collate_decoded, one_line
from .items import DatasetItem
from .job import StopFlag
from .journal import JobConfig
from .process import BatchProcessor, failed_record, process_batch, write_item
from .resources import default_decode_workers

__all__ = ["run_local"]

Record = dict[str, object]


def _quiet_worker(_worker_id: int) -> None:
    # Ctrl-C and SIGTERM are handled by the main process, which stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _settle(fails: list[Record], futures: list[tuple[DatasetItem, Future[Record]]]) -> list[Record]:
    records = list(fails)
    for item, fut in futures:
        try:
            records.append(fut.result())
        except Exception as exc:  # disk full, permission denied: this item fails, the run goes on
            records.append(failed_record(item, f"writing failed: {one_line(exc)}"))
    return records


def run_local(
    todo: list[DatasetItem],
    loaded: LoadedModel,
    config: JobConfig,
    out_dir: Path,
    batch_size: int,
    workers: int | None,
    writers: int,
    device: str | torch.device,
    sink: Callable[[list[Record]], None],
    stop: StopFlag,
) -> list[str]:
    """Explain ``todo`` and hand each finished batch's records to ``sink``; returns the layer names.

    ``workers`` DataLoader processes decode (``None``: :func:`default_decode_workers`).
    """
    if workers is None:
        workers = default_decode_workers()
    dev = torch.device(device)
    processor = BatchProcessor(loaded, config.methods, config.top_k, config.layer, dev, config.compile)
    loader = DataLoader(
        ItemDataset(todo, loaded.preprocess),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate_decoded,
        prefetch_factor=4 if workers > 0 else None,
        pin_memory=dev.type == "cuda",
        worker_init_fn=_quiet_worker if workers > 0 else None,
    )
    pending: deque[tuple[list[Record], list[tuple[DatasetItem, Future[Record]]]]] = deque()
    max_pending = 3  # batches whose files are still being written
    first = True
    with ThreadPoolExecutor(max_workers=max(1, writers), thread_name_prefix="netloupe-writer") as pool:
        try:
            iterator = iter(loader)
            while not stop.is_set():
                try:
                    batch = next(iterator)
                except StopIteration:
                    break
                fails = [failed_record(todo[i], reason) for i, reason in batch.failures]
                futures: list[tuple[DatasetItem, Future[Record]]] = []
                if batch.inputs is not None:
                    outs, more = process_batch(processor, batch.indices, batch.inputs, batch.images, todo, first)
                    first = first and not outs
                    fails += more
                    for o in outs:
                        item = todo[o.index]
                        futures.append((item, pool.submit(write_item, out_dir, item, o, processor.layers)))
                pending.append((fails, futures))
                while pending and (len(pending) > max_pending or all(f.done() for _, f in pending[0][1])):
                    sink(_settle(*pending.popleft()))
        finally:
            while pending:  # whatever was computed is written and journaled, even when stopping
                sink(_settle(*pending.popleft()))
            del loader
    return processor.layers
