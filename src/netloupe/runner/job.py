"""``run_dataset``: explain a whole dataset, resumably, on the local engine or on Ray Data.

The front is shared by both engines: list the items, check the output folder holds the same job,
read the journal, skip what is finished, run the rest, and rebuild ``manifest.json`` from the
journal. SIGINT and SIGTERM stop the run after the batch in flight; what was computed is written,
journaled and listed in a manifest marked ``"complete": false``, and a re-run finishes the job.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from .._typing import PathLikeStr
from ..cam._capture import check_hookable
from ..cam.registry import get_method
from ..errors import InputError
from ..layers import resolve_layer
from ..models.zoo import LoadedModel
from .items import DatasetItem, discover_items
from .journal import JOURNAL_NAME, JobConfig, Journal, check_config
from .manifest import files_present, write_manifest
from .process import compiled_layer
from .resources import resolve_parallelism

__all__ = ["RunSummary", "StopFlag", "run_dataset"]

Engine = Literal["local", "ray"]


@dataclass
class RunSummary:
    """What a run did. ``failed`` lists ``{"id", "source", "reason"}`` of every item that failed."""

    out_dir: Path
    manifest: Path
    total: int
    skipped: int  # finished by an earlier run
    done: int  # finished by this run
    failed: list[dict[str, object]] = field(default_factory=list)
    pending: int = 0  # neither finished nor failed (an interrupted run)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def images_per_second(self) -> float:
        """Items finished by this run per second of its wall time."""
        return self.done / self.seconds if self.seconds > 0 else 0.0


class StopFlag:
    """Set by SIGINT/SIGTERM (or by a caller) to stop a run after the batch in flight."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signals = 0

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@contextmanager
def _graceful_signals(stop: StopFlag) -> Iterator[None]:
    """First SIGINT/SIGTERM sets ``stop``; a second SIGINT raises KeyboardInterrupt at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        stop.signals += 1
        if stop.signals > 1 and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _validate(loaded: LoadedModel, methods: Sequence[str], top_k: int, layer: str | None, batch_size: int) -> None:
    for m in methods:
        get_method(m)
    if top_k < 1:
        raise InputError(f"top_k: must be >= 1, got {top_k}")
    if batch_size < 1:
        raise InputError(f"batch_size: must be >= 1, got {batch_size}")
    check_hookable(loaded.model)  # TorchScript: a clear error before any work
    target = compiled_layer(loaded.model, layer if layer is not None else loaded.target_layer)
    if isinstance(target, str):
        resolve_layer(loaded.model, target)


def run_dataset(
    dataset: PathLikeStr,
    loaded: LoadedModel,
    methods: Sequence[str] = ("gradcam",),
    out: PathLikeStr = "netloupe-run",
    *,
    top_k: int = 1,
    layer: str | None = None,
    batch_size: int = 16,
    workers: int | None = None,
    writers: int | None = None,
    device: str | torch.device = "cpu",
    engine: Engine = "local",
    limit: int | None = None,
    root: PathLikeStr | None = None,
    compile: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    stop: StopFlag | None = None,
) -> RunSummary:
    """Explain every image of ``dataset`` and write overlays, arrays, a journal and a manifest to ``out``.

    Args:
        dataset: image folder (recursive) or CSV listing (see :func:`discover_items`).
        loaded: the model (:func:`netloupe.load_model`).
        methods: registry names; all share one pass per batch.
        out: output folder; re-running into it resumes the same job.
        top_k: explain the k most probable classes of each image.
        layer: target layer (default: the model's recommended layer, else automatic).
        batch_size: images per pass.
        workers: DataLoader processes decoding images (local engine; 0: decode in the main process);
            actors (Ray engine; 0: one per GPU, else 2). ``None`` (default): auto from the usable
            cores, see :mod:`netloupe.runner.resources` (Ray: one actor per GPU, else from the
            cluster's CPUs).
        writers: threads writing PNG/NPZ files (per actor on Ray), >= 1. ``None`` (default): auto,
            1 on up to 2 usable cores, else ``min(4, cores)``.
        device: where the passes run (local engine; Ray actors use a GPU when they are given one).
        engine: ``"local"`` or ``"ray"``.
        limit: only the first ``limit`` items of the dataset.
        root: folder that relative CSV paths are relative to.
        compile: run the model through ``torch.compile`` (see docs/runner.md for what works).
        on_start: called once with (items to do now, items already finished).
        on_progress: called with the number of items finished or failed after each batch.
        stop: a flag that stops the run after the batch in flight (signals set it too).

    Returns:
        A :class:`RunSummary`; ``interrupted`` is True when a signal or ``stop`` ended it early.
    """
    if engine not in ("local", "ray"):
        raise InputError(f"engine: expected 'local' or 'ray', got {engine!r}")
    methods = [get_method(m).name for m in methods]
    _validate(loaded, methods, top_k, layer, batch_size)
    workers, writers = resolve_parallelism(engine, workers, writers)
    if loaded.preprocess.size is None:
        batch_size = 1  # images keep their own sizes: they cannot be stacked
    out_dir = Path(out)
    items = [
        it
        for it in discover_items(dataset, root=root, limit=limit)
        if not Path(it.source).resolve().is_relative_to(out_dir.resolve())
    ]
    out_dir.mkdir(parents=True, exist_ok=True)  # only once the dataset is known to list images
    config = JobConfig(loaded.name, methods, top_k, layer if layer is not None else loaded.target_layer, compile)
    check_config(out_dir, config)
    journal = Journal(out_dir / JOURNAL_NAME)
    records = journal.read()
    finished = {i for i, r in records.items() if r.get("status") == "done" and files_present(out_dir, r)}
    todo = [it for it in items if it.id not in finished]
    if on_start is not None:
        on_start(len(todo), len(items) - len(todo))
    stop = stop or StopFlag()
    start = time.perf_counter()
    done = 0
    layers: list[str] = []

    def sink(batch_records: list[dict[str, object]]) -> None:
        nonlocal done
        journal.append(batch_records)
        done += sum(r.get("status") == "done" for r in batch_records)
        if on_progress is not None:
            on_progress(len(batch_records))

    try:
        with _graceful_signals(stop):
            if todo:
                run_engine = _engine(engine)
                layers = run_engine(todo, loaded, config, out_dir, batch_size, workers, writers, device, sink, stop)
    finally:  # also after a crash or a second Ctrl-C: the manifest lists what the journal holds
        seconds = time.perf_counter() - start
        records = journal.read()
        manifest = write_manifest(out_dir, items, records, config, layers, str(dataset))
    failed = [
        {"id": it.id, "source": it.source, "reason": records[it.id].get("reason", "")}
        for it in items
        if it.id in records and records[it.id].get("status") != "done"
    ]
    pending = sum(
        it.id not in records or (records[it.id].get("status") == "done" and not files_present(out_dir, records[it.id]))
        for it in items
    )
    return RunSummary(
        out_dir=out_dir,
        manifest=manifest,
        total=len(items),
        skipped=len(items) - len(todo),
        done=done,
        failed=failed,
        pending=pending,
        seconds=seconds,
        interrupted=stop.is_set() and pending > 0,
    )


EngineFn = Callable[
    [
        list[DatasetItem],
        LoadedModel,
        JobConfig,
        Path,
        int,
        "int | None",
        int,
        "str | torch.device",
        Callable[[list[dict[str, object]]], None],
        StopFlag,
    ],
    list[str],
]


def _engine(name: Engine) -> EngineFn:
    if name == "ray":
        from .ray_engine import run_ray

        return run_ray
    from .local import run_local

    return run_local
