"""The runner's automatic parallelism: usable cores, decode workers, writer threads, Ray actors."""

from __future__ import annotations

import os

import pytest

from netloupe.errors import InputError
from netloupe.runner.resources import (
    default_decode_workers,
    default_ray_actors,
    default_writers,
    resolve_parallelism,
    usable_cpus,
)


def _cores(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(n)), raising=False)


@pytest.mark.parametrize(
    ("cores", "workers", "writers"),
    [(1, 0, 1), (2, 0, 1), (3, 2, 3), (4, 3, 4), (16, 8, 4)],
)
def test_defaults_follow_the_usable_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, workers: int, writers: int
) -> None:
    _cores(monkeypatch, cores)
    assert usable_cpus() == cores
    assert (default_decode_workers(), default_writers()) == (workers, writers)
    assert (default_decode_workers(cores), default_writers(cores)) == (workers, writers)
    assert resolve_parallelism("local", None, None) == (workers, writers)


def test_usable_cpus_without_affinity_falls_back_to_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert usable_cpus() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: at least one core
    assert usable_cpus() == 1


def test_ray_actors_one_per_gpu_else_from_the_cluster_cpus() -> None:
    assert [default_ray_actors(0, c) for c in (0, 1, 2, 3, 4, 16)] == [1, 1, 1, 2, 3, 8]
    assert default_ray_actors(4, 64) == 4


def test_explicit_values_are_kept_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    _cores(monkeypatch, 16)
    assert resolve_parallelism("local", 0, 1) == (0, 1)
    assert resolve_parallelism("local", 2, 4) == (2, 4)
    assert resolve_parallelism("ray", None, None) == (None, 4)  # actors: resolved by the Ray engine
    assert resolve_parallelism("ray", 0, 2) == (0, 2)
    with pytest.raises(InputError, match=r"^writers: must be >= 1 .*got 0$"):
        resolve_parallelism("local", None, 0)
    with pytest.raises(InputError, match=r"^workers: must be >= 0 .*got -1$"):
        resolve_parallelism("ray", -1, None)
