"""Interleaved timing: every contender runs once per round, in a fresh random order, next to the floor.

Timing contenders one after another (all repeats of A, then all of B) lets slow drift on a shared
machine, the allocator's state left by the previous contender (a peer that keeps the whole autograd
graph makes the next call page-fault its buffers back in) and turbo/thermal changes land on whoever
runs at the wrong moment: on a 2-core VM that moved ratios by +-15 % between runs. Here each round
runs every contender once in a shuffled order, and a contender's ratio to the floor is the median of
its *per-round* ratios (paired with the floor's time in the same round), with the interquartile range
of those ratios as the noise it carries.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Contender", "RatioStats", "paired_ratio", "sync", "time_interleaved"]


@dataclass(frozen=True)
class Contender:
    """One timed thing: a (case, library) pair and the zero-argument call that does the work."""

    case: str
    library: str
    run: Callable[[], Any]


@dataclass(frozen=True)
class RatioStats:
    """Median and interquartile range of per-round ratios ``t_contender / t_floor``."""

    median: float
    q1: float
    q3: float


def sync(device: torch.device) -> None:
    """Wait for queued CUDA work, so that a timer measures the work and not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(
    contenders: Sequence[Contender],
    rounds: int,
    device: torch.device,
    *,
    warmup: int = 1,
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
    on_round: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Seconds per call, ``times[i][r]`` for contender ``i`` in round ``r``.

    Every contender is called ``warmup`` times first (allocations, oneDNN/cuDNN plans, lazy imports);
    then each round calls every contender once, in an order shuffled by a ``seed``-ed generator.
    """
    if rounds < 1:
        raise ValueError(f"rounds: must be >= 1, got {rounds}")
    for contender in contenders:
        for _ in range(warmup):
            contender.run()
    sync(device)
    rng = random.Random(seed)
    order = list(range(len(contenders)))
    times = [[0.0] * rounds for _ in contenders]
    for r in range(rounds):
        rng.shuffle(order)
        for i in order:
            sync(device)
            start = clock()
            contenders[i].run()
            sync(device)
            times[i][r] = clock() - start
        if on_round is not None:
            on_round(r)
    return times


def paired_ratio(times: Sequence[float], floor: Sequence[float]) -> RatioStats:
    """Median and quartiles of ``times[r] / floor[r]`` over the rounds ``r`` (see the module docstring)."""
    if len(times) != len(floor) or not times:
        raise ValueError(f"paired_ratio: expected two equally long non-empty series, got {len(times)} and {len(floor)}")
    ratios = [t / f for t, f in zip(times, floor, strict=True)]
    if len(ratios) == 1:
        return RatioStats(ratios[0], ratios[0], ratios[0])
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return RatioStats(median, q1, q3)
