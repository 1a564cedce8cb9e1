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
from ..errors import InputError
from ..layers import ReshapeSpec
from ..models.zoo import LoadedModel
from ..pipeline.manifest import Record, build_manifest, write_manifest
from ..pipeline.request import AUTO, ExplainRequest, build_request
from ..pipeline.run import JobStats, StopFlag
from ..pipeline.sinks import FolderSink, NiftiSink, Sink, files_present
from ..pipeline.sinks.folder import OverlayPolicy
from ..pipeline.sources import MedicalOptions, Reader
from .backend import Backend, BackendJob
from .items import DatasetItem, discover_items
from .journal import JOURNAL_NAME, JobConfig, Journal, JournalSink, check_config
from .resources import resolve_parallelism

__all__ = ["Backend", "BackendJob", "RunSummary", "StopFlag", "run_dataset"]

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
    methods: tuple[str, ...] = ()  # as resolved (``"auto"`` becomes the methods netloupe chose)
    method_reason: str = ""  # why, when netloupe chose them

    @property
    def images_per_second(self) -> float:
        """Items finished by this run per second of its wall time."""
        return self.done / self.seconds if self.seconds > 0 else 0.0


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


def _backend(name: Engine) -> Backend:
    if name == "ray":
        from .ray_engine import run_ray

        return run_ray
    from .local import run_local

    return run_local


def _store_sink(store: PathLikeStr, request: ExplainRequest, items: Sequence[DatasetItem], dtype: str) -> Sink:
    from ..pipeline.sinks.store import StoreSink

    return StoreSink(Path(store), request, [it.id for it in items], dtype=dtype)


def run_dataset(
    dataset: PathLikeStr,
    loaded: LoadedModel,
    methods: Sequence[str] = (AUTO,),
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
    store: PathLikeStr | None = None,
    store_dtype: str = "float16",
    overlays: OverlayPolicy | None = None,
    medical: MedicalOptions = MedicalOptions(),
    output: str | int | None = None,
    layout: ReshapeSpec = "auto",
    on_start: Callable[[int, int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    stop: StopFlag | None = None,
) -> RunSummary:
    """Explain every input of ``dataset``; a journal and a manifest go to ``out``, the maps to files or a store.

    Args:
        dataset: input folder (recursive: photos, DICOM, NIfTI) or CSV listing (see :func:`discover_items`).
        loaded: the model (:func:`netloupe.load_model`).
        methods: registry names; all share one pass per batch. ``("auto",)``: see :func:`build_request`.
        out: run folder (journal, run config, manifest; per-item files); re-running into it resumes.
        top_k: explain the k most probable classes of each input.
        layer: target layer (default: the model's recommended layer, else automatic).
        batch_size: inputs per pass.
        workers: decoding processes (local; 0: decode in the main process); actors (Ray; 0: one
            per GPU, else 2). ``None``: auto from the usable cores (:mod:`netloupe.runner.resources`).
        writers: threads writing per-item files (per actor on Ray), >= 1; ``None``: auto.
        device: where the passes run (local backend; Ray actors use a GPU when given one).
        engine: ``"local"`` or ``"ray"``.
        limit: only the first ``limit`` items.
        root: folder that relative CSV paths are relative to.
        store: write the maps into one chunked Zarr store at this path (items x classes x H x W per
            method, at the model's input grid) instead of one ``maps.npz`` per item.
        store_dtype: ``"float16"`` (default) or ``"float32"`` maps in the store.
        overlays: ``"all"`` (default without a store) or ``"none"`` (default with a store) overlay PNGs.
        medical: how DICOM/NIfTI inputs are windowed and sliced.
        output: the key or index of the scores in a dict / ``ModelOutput`` / tuple output.
        layout: how the layer's output is read (``"auto"``, ``"tokens"``, ``"channels-last"``, ...).
        on_start: called once with (items to do now, items already finished).
        on_progress: called with the number of items finished or failed after each batch.
        stop: a flag that stops the run after the batch in flight (signals set it too).

    Returns:
        A :class:`RunSummary`; ``interrupted`` is True when a signal or ``stop`` ended it early.
    """
    if engine not in ("local", "ray"):
        raise InputError(f"engine: expected 'local' or 'ray', got {engine!r}")
    if top_k < 1:
        raise InputError(f"top_k: must be >= 1, got {top_k}")
    if store_dtype not in ("float16", "float32"):
        raise InputError(f"store_dtype: expected float16 or float32, got {store_dtype!r}")
    policy: OverlayPolicy = overlays if overlays is not None else ("none" if store is not None else "all")
    request = build_request(
        loaded,
        methods,
        top_k=top_k,
        layer=layer,
        device=device,
        batch_size=batch_size if loaded.preprocess.size is not None else 1,  # unequal sizes cannot be stacked
        grid="input" if store is not None else "item",
        overlays=policy != "none",
        channels_last=True,
        output=output,
        layout=layout,
    )
    workers, writers = resolve_parallelism(engine, workers, writers)
    out_dir = Path(out)
    items = [
        it
        for it in discover_items(dataset, root=root, limit=limit)
        if not Path(it.source).resolve().is_relative_to(out_dir.resolve())
    ]
    out_dir.mkdir(parents=True, exist_ok=True)  # only once the dataset is known to list inputs
    config = JobConfig(
        loaded.name, list(request.methods), top_k, request.layer_name, None if store is None else str(store)
    )
    check_config(out_dir, config)
    journal = Journal(out_dir / JOURNAL_NAME)
    records = journal.read()
    sinks: list[Sink] = []
    if store is not None:
        sinks.append(_store_sink(store, request, items, store_dtype))
    if store is None or policy != "none":
        sinks.append(FolderSink(out_dir, overlays=policy, writers=writers, arrays=store is None))
    sinks += [NiftiSink(out_dir), JournalSink(journal)]
    finished = {i for i, r in records.items() if _finished(out_dir, r, sinks)}
    todo = [it for it in items if it.id not in finished]
    if on_start is not None:
        on_start(len(todo), len(items) - len(todo))
    stop = stop or StopFlag()
    start = time.perf_counter()
    layers: list[str] = []
    stats = JobStats()
    reader = Reader(loaded.preprocess, loaded.input_kind, medical)
    try:
        with _graceful_signals(stop):
            if todo:
                job = BackendJob(request, todo, reader, sinks, workers, writers, on_progress, stop)
                stats = _backend(engine)(job)
                layers = stats.layers
    finally:  # also after a crash or a second Ctrl-C: the manifest lists what the journal holds
        for sink in sinks:
            sink.close()
        seconds = time.perf_counter() - start
        records = journal.read()
        manifest = _write_run_manifest(out_dir, items, records, request, layers, str(dataset), store, sinks)
    failed = [
        {"id": it.id, "source": it.source, "reason": records[it.id].get("reason", "")}
        for it in items
        if it.id in records and records[it.id].get("status") != "done"
    ]
    pending = sum(it.id not in records or not _finished(out_dir, records[it.id], sinks) for it in items) - len(failed)
    return RunSummary(
        out_dir=out_dir,
        manifest=manifest,
        total=len(items),
        skipped=len(items) - len(todo),
        done=stats.done,
        failed=failed,
        pending=pending,
        seconds=seconds,
        interrupted=stop.is_set() and pending > 0,
        methods=request.methods,
        method_reason=request.method_reason,
    )


def _finished(out_dir: Path, record: Record, sinks: Sequence[Sink]) -> bool:
    """A ``done`` record whose outputs are all in place (files present; rows marked in the store)."""
    if record.get("status") != "done":
        return False
    if "store_row" in record:
        from ..pipeline.sinks.store import StoreSink

        stores = [s for s in sinks if isinstance(s, StoreSink)]
        if not stores or not stores[0].has(str(record["id"])):
            return False
    has_files = any(key in m for m in record.get("maps", []) for key in ("overlay", "array", "nifti"))
    return files_present(out_dir, record) if has_files else "store_row" in record


def _write_run_manifest(
    out_dir: Path,
    items: Sequence[DatasetItem],
    records: dict[str, Record],
    request: ExplainRequest,
    layers: list[str],
    dataset: str,
    store: PathLikeStr | None,
    sinks: Sequence[Sink],
) -> Path:
    ordered: list[Record] = []
    pending = 0
    for item in items:
        rec = records.get(item.id)
        if rec is None or (rec.get("status") == "done" and not _finished(out_dir, rec, sinks)):
            pending += 1
        else:
            ordered.append(rec)
            if not layers and rec.get("status") == "done":
                layers = list(rec["maps"][0].get("layer", [])) if rec.get("maps") else []
    extra: dict[str, object] = {"dataset": dataset}
    if request.method_reason:
        extra["method_reason"] = request.method_reason
    if store is not None:
        extra["store"] = str(store)
    manifest = build_manifest(
        kind="dataset-run",
        model=request.loaded.name,
        layers=layers,
        methods=request.methods,
        top_k=request.top_k,
        target=None,
        records=ordered,
        pending=pending,
        extra=extra,
    )
    return write_manifest(out_dir, manifest)
