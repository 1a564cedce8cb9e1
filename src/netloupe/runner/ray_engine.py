"""The Ray backend: the same job on Ray Data, for many cores, GPUs and machines.

``ray.data.from_items`` lists the items; ``map_batches`` runs :class:`ExplainActor` over an actor
pool: each actor gets the request (model included) once from the object store, decodes its batch in
a thread pool and runs the core (on its GPU when Ray gave it one). The computed batches come back to
the driver, which hands them to the same sinks as the local backend (files, the Zarr store, NIfTI,
the journal), so outputs, journal and manifest are those of a local run, and a run started on one
backend can be resumed on the other.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError, NetloupeError
from ..pipeline.core import ExplainCore
from ..pipeline.items import Item, ItemFailure
from ..pipeline.request import ExplainRequest
from ..pipeline.run import Computed, JobStats, write_batches
from ..pipeline.sources import Reader, decode
from .backend import BackendJob
from .resources import default_ray_actors

__all__ = ["ExplainActor", "run_ray"]


class ExplainActor:
    """A Ray Data actor: holds one core and explains whole batches.

    Args:
        request: the :class:`ExplainRequest` (or an object-store reference to it); its device is
            replaced by the actor's GPU when Ray gave it one, else the CPU.
        reader: how items are read.
        threads: decoding threads in this actor.
    """

    def __init__(self, request: Any, reader: Reader, threads: int) -> None:
        import dataclasses

        import ray

        req: ExplainRequest = ray.get(request) if isinstance(request, ray.ObjectRef) else request
        device = torch.device("cuda" if torch.cuda.is_available() and ray.get_gpu_ids() else "cpu")
        self.core = ExplainCore(dataclasses.replace(req, device=device))
        self.reader = reader
        self.pool = ThreadPoolExecutor(max(1, threads))
        self.first = True

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = list(zip(batch["source"], batch["id"], batch["label"], strict=True))
        decoded = list(self.pool.map(lambda r: decode(self.reader, str(r[0]), str(r[1]), str(r[2])), rows))
        items = [d for d in decoded if isinstance(d, Item)]
        failures = [d for d in decoded if isinstance(d, ItemFailure)]
        results, more = self.core.explain_isolated(items, first=self.first and not failures)
        self.first = self.first and not results
        order = [str(r[1]) for r in rows]
        failures += more
        for res in results:  # the driver needs no model-input tensor; keep what goes back small
            res.item.tensor = torch.empty(0)
        return {"computed": np.array([pickle.dumps((results, failures, order, self.core.layers))], dtype=object)}


def _worker_env() -> dict[str, Any]:
    """Make the running netloupe importable in local Ray workers (it may come from a source tree)."""
    src = str(Path(__file__).resolve().parents[2])
    paths = [src, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}


def run_ray(job: BackendJob) -> JobStats:
    """Explain ``job.todo`` on Ray Data (connecting to a running cluster when ``ray.init`` was called first).

    ``job.workers`` is the number of actors (``None``: :func:`default_ray_actors`, one per GPU, else from
    the cluster's CPUs, at least 1; ``0``: one per GPU, else 2); each asks for one GPU when the cluster
    has GPUs. ``job.writers`` threads decode in each actor. The request's device is ignored: actors use
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
    request, todo, stop = job.request, job.todo, job.stop
    workers, writers = job.workers, job.writers
    layers: list[str] = []
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
            batch_size=request.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_gpus=1 if gpus else 0,
            num_cpus=1,
            fn_constructor_kwargs={"request": ray.put(request), "reader": job.reader, "threads": writers},
        )

        def batches() -> Iterator[Computed]:
            try:
                for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
                    for blob in out["computed"]:
                        results, failures, order, names = pickle.loads(blob)
                        layers[:] = names or layers
                        yield results, failures, order
                    if stop.is_set():
                        return
            except Exception as exc:  # an actor's NetloupeError arrives wrapped by Ray: raise the original
                cause: BaseException | None = exc
                while cause is not None and not isinstance(cause, NetloupeError):
                    cause = cause.__cause__
                if cause is None or cause is exc:
                    raise
                raise cause from exc

        stats = write_batches(batches(), job.sinks, on_progress=job.on_progress, stop=stop)
        stats.layers = list(layers)
        return stats
    finally:
        if started:
            ray.shutdown()
