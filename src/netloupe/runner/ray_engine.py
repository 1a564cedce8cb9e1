"""The Ray engine: the same job on Ray Data, for many cores, GPUs and machines.

``ray.data.from_items`` lists the items; ``map_batches`` runs :class:`ExplainActor` over an actor
pool: each actor gets the model once (from the object store), decodes its batch in a thread pool,
runs the shared pass (on its GPU when Ray gave it one), writes the item files atomically and
returns one record per item. The driver appends the records to the journal as batches arrive, so
the output layout, journal and manifest are those of the local engine, and a run started on one
engine can be resumed on the other. On a cluster the output folder must be on storage every node
mounts at the same path (see docs/scale.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError, NetloupeError
from ..models.zoo import LoadedModel
from .data import collate_decoded, decode_item
from .items import DatasetItem
from .job import StopFlag
from .journal import JobConfig
from .process import BatchProcessor, failed_record, process_batch, write_item
from .resources import default_ray_actors

__all__ = ["ExplainActor", "run_ray"]

Record = dict[str, object]


class ExplainActor:
    """A Ray Data actor: holds one model and explains, writes and records whole batches.

    Args:
        model: the :class:`LoadedModel` (or an object-store reference to it).
        methods, top_k, layer, compile: what to compute (as in :func:`netloupe.runner.run_dataset`).
        out_dir: the output folder (shared storage on a cluster).
        threads: decoding and writing threads in this actor.
    """

    def __init__(
        self,
        model: Any,
        methods: list[str],
        top_k: int,
        layer: str | None,
        out_dir: str,
        threads: int,
        compile: bool = False,
    ) -> None:
        import ray

        loaded: LoadedModel = ray.get(model) if isinstance(model, ray.ObjectRef) else model
        device = "cuda" if torch.cuda.is_available() and ray.get_gpu_ids() else "cpu"
        self.processor = BatchProcessor(loaded, methods, top_k, layer, device, compile)
        self.preprocess = loaded.preprocess
        self.out_dir = Path(out_dir)
        self.pool = ThreadPoolExecutor(max(1, threads))
        self.first = True

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        items = [
            DatasetItem(str(s), str(i), str(lab))
            for s, i, lab in zip(batch["source"], batch["id"], batch["label"], strict=True)
        ]
        decoded = collate_decoded(
            list(self.pool.map(lambda j: decode_item(j, items[j], self.preprocess), range(len(items))))
        )
        records: list[Record] = [failed_record(items[j], reason) for j, reason in decoded.failures]
        if decoded.inputs is not None:
            outs, fails = process_batch(
                self.processor, decoded.indices, decoded.inputs, decoded.images, items, self.first
            )
            self.first = self.first and not outs
            records += fails
            futures = [
                (items[o.index], self.pool.submit(write_item, self.out_dir, items[o.index], o, self.processor.layers))
                for o in outs
            ]
            for item, fut in futures:
                try:
                    records.append(fut.result())
                except Exception as exc:
                    from .data import one_line

                    records.append(failed_record(item, f"writing failed: {one_line(exc)}"))
        return {"record": np.array([json.dumps(r) for r in records], dtype=object)}


def _worker_env() -> dict[str, Any]:
    """Make the running netloupe importable in local Ray workers (it may come from a source tree)."""
    src = str(Path(__file__).resolve().parents[2])
    paths = [src, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}


def run_ray(
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
    """Explain ``todo`` on Ray Data (connecting to a running cluster when ``ray.init`` was called first).

    ``workers`` is the number of actors (``None``: :func:`default_ray_actors`, one per GPU, else
    from the cluster's CPUs, at least 1; ``0``: one per GPU, else 2); each asks for one GPU when the
    cluster has GPUs. ``writers`` threads write each actor's files. ``device`` is ignored: actors use
    the GPU Ray assigns them, else the CPU.
    """
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise InputError("engine: 'ray' needs Ray Data; install it with pip install 'netloupe[ray]'") from exc
    started = not ray.is_initialized()
    if started:
        # A cluster only when asked for (RAY_ADDRESS, or ray.init(...) called first); else a private local one.
        address = os.environ.get("RAY_ADDRESS") or "local"
        ray.init(address=address, runtime_env=_worker_env(), include_dashboard=False, log_to_driver=False)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if workers is None:
            actors = default_ray_actors(gpus, int(ray.cluster_resources().get("CPU", 0)))
        else:
            actors = workers if workers > 0 else (gpus or 2)
        rows = [{"source": it.source, "id": it.id, "label": it.label} for it in todo]
        ds = ray.data.from_items(rows).map_batches(
            ExplainActor,
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_gpus=1 if gpus else 0,
            num_cpus=1,
            fn_constructor_kwargs={
                "model": ray.put(loaded),
                "methods": config.methods,
                "top_k": config.top_k,
                "layer": config.layer,
                "out_dir": str(out_dir.resolve()),
                "threads": writers,
                "compile": config.compile,
            },
        )
        layers: list[str] = []
        try:
            for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
                records = [json.loads(s) for s in out["record"]]
                sink(records)
                if not layers:
                    done = [r for r in records if r.get("status") == "done"]
                    layers = list(done[0]["maps"][0]["layer"]) if done else []
                if stop.is_set():
                    break
        except Exception as exc:  # an actor's NetloupeError arrives wrapped by Ray: raise the original
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, NetloupeError):
                cause = cause.__cause__
            if cause is None or cause is exc:
                raise
            raise cause from exc
        return layers
    finally:
        if started:
            ray.shutdown()
