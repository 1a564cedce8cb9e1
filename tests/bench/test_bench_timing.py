"""Interleaved timing and paired ratios, checked with a scripted clock (no wall-clock assertions)."""

from __future__ import annotations

import pytest
import torch

from netloupe.bench.timing import Contender, paired_ratio, time_interleaved

CPU = torch.device("cpu")


class ScriptedClock:
    """A clock that stands still unless the test's fake work moves it forward."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_every_round_runs_every_contender_once_in_a_shuffled_order() -> None:
    calls: list[str] = []
    contenders = [Contender(name, "lib", lambda name=name: calls.append(name)) for name in "abcdef"]
    times = time_interleaved(contenders, rounds=5, device=CPU, warmup=2, seed=3)
    warm, timed = calls[:12], calls[12:]
    assert warm == [c for c in "abcdef" for _ in range(2)]  # warm-up: in order, `warmup` times each
    rounds = [timed[i : i + 6] for i in range(0, 30, 6)]
    assert all(sorted(r) == list("abcdef") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # the order changes between rounds
    assert len(times) == 6 and all(len(t) == 5 for t in times)


def test_times_are_what_each_call_cost_on_the_clock() -> None:
    clock = ScriptedClock()
    cost = {"floor": 1.0, "ours": 1.05, "peer": 1.4}

    def work(name: str) -> None:
        clock.now += cost[name]

    contenders = [Contender("case", name, lambda name=name: work(name)) for name in cost]
    times = time_interleaved(contenders, rounds=4, device=CPU, warmup=0, clock=clock)
    assert times == [[pytest.approx(c)] * 4 for c in cost.values()]


def test_paired_ratio_cancels_drift_that_hits_every_contender_of_a_round() -> None:
    # The machine slows down 3x in round 2: a ratio of medians would be skewed, paired ratios are not.
    floor = [1.0, 1.0, 3.0, 1.0, 1.0]
    ours = [1.05, 1.05, 3.15, 1.05, 1.05]
    stats = paired_ratio(ours, floor)
    assert stats.median == pytest.approx(1.05)
    assert stats.q1 == pytest.approx(1.05) and stats.q3 == pytest.approx(1.05)


def test_paired_ratio_quartiles_use_the_inclusive_method() -> None:
    stats = paired_ratio([1.0, 2.0, 3.0, 4.0, 5.0], [1.0] * 5)
    assert (stats.q1, stats.median, stats.q3) == pytest.approx((2.0, 3.0, 4.0))
    single = paired_ratio([2.0], [4.0])
    assert (single.q1, single.median, single.q3) == (0.5, 0.5, 0.5)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="rounds"):
        time_interleaved([], rounds=0, device=CPU)
    with pytest.raises(ValueError, match="equally long"):
        paired_ratio([1.0, 2.0], [1.0])
