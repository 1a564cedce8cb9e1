"""How many CPU cores this process may use, and the dataset runner's parallelism derived from it.

``workers=None`` / ``writers=None`` (the default of :func:`~netloupe.runner.run_dataset` and of
``netloupe run``) mean "auto": the values below, from the cores this process may run on.
"""

from __future__ import annotations

import os
from typing import Literal

from ..errors import InputError

__all__ = [
    "default_decode_workers",
    "default_ray_actors",
    "default_writers",
    "resolve_parallelism",
    "usable_cpus",
]

MAX_DECODE_WORKERS = 8
MAX_WRITERS = 4


def usable_cpus() -> int:
    """Cores this process may run on: its CPU affinity where the OS reports it, else ``os.cpu_count()``; >= 1.

    The affinity (Linux) is what ``taskset``, cgroup cpusets and batch schedulers restrict;
    ``os.cpu_count()`` counts the machine's cores even when the process may use fewer.
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_decode_workers(cores: int | None = None) -> int:
    """DataLoader processes for ``cores`` usable cores (default: :func:`usable_cpus`).

    0 (decode in the main process) up to 2 cores, else ``min(cores - 1, 8)``. Decoding only
    overlaps with the pass when a core is free for it: the main process's pass keeps one core busy,
    so on 1-2 cores worker processes compete with the pass and the writers instead of running beside
    them (measured on 2 cores: 1.91x a pytorch-grad-cam loop with 2 workers and 4 writers, 2.12x with
    0 and 1). With 3 or more, every core but the main process's decodes, capped at 8 so that a large
    node does not start dozens of processes, each holding 4 prefetched batches in memory.
    """
    n = usable_cpus() if cores is None else max(1, cores)
    return 0 if n <= 2 else min(n - 1, MAX_DECODE_WORKERS)


def default_writers(cores: int | None = None) -> int:
    """Writer threads for ``cores`` usable cores (default: :func:`usable_cpus`).

    1 up to 2 cores, else ``min(4, cores)``. Like decoding, PNG/NPZ encoding only overlaps with the
    pass when a core is free: on 1-2 cores one thread keeps writing behind the pass and more threads
    only compete with it. With free cores, one thread per core up to 4 (the former fixed default).
    """
    n = usable_cpus() if cores is None else max(1, cores)
    return 1 if n <= 2 else min(MAX_WRITERS, n)


def default_ray_actors(gpus: int, cpus: int) -> int:
    """Ray actors for ``workers=None``: one per GPU of the cluster, else ``max(1, default_decode_workers(cpus))``.

    ``cpus`` is the cluster's CPU count; without GPUs each actor runs its passes on one CPU, so the
    decode-worker formula (keep one core for the driver and Ray's own tasks) applies, with at least
    one actor. (``workers=0`` keeps its older meaning: one per GPU, else 2.)
    """
    return gpus if gpus > 0 else max(1, default_decode_workers(cpus))


def resolve_parallelism(
    engine: Literal["local", "ray"], workers: int | None, writers: int | None
) -> tuple[int | None, int]:
    """Check ``workers``/``writers`` and fill in the automatic values.

    Returns ``(workers, writers)``: on the local engine both are ints (``None`` becomes
    :func:`default_decode_workers` / :func:`default_writers`); on Ray, ``workers=None`` stays
    ``None`` (the actor count needs the cluster's resources: :func:`default_ray_actors`). Raises
    :class:`~netloupe.errors.InputError` for ``workers < 0`` or ``writers < 1``.
    """
    if workers is not None and workers < 0:
        raise InputError(f"workers: must be >= 0 (or None for auto), got {workers}")
    if writers is not None and writers < 1:
        raise InputError(f"writers: must be >= 1 (or None for auto), got {writers}")
    if workers is None and engine == "local":
        workers = default_decode_workers()
    return workers, default_writers() if writers is None else writers
