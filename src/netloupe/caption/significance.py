"""Paired bootstrap of a corpus metric between two captioning systems (Koehn, 2004, "Statistical
significance tests for machine translation evaluation"), resampling whole groups (e.g. clinical cases).

Each resample draws ``len(groups)`` groups with replacement, keeps every item of each drawn group, and
scores both systems on that same sample; the share of samples where A beats B and the percentile
interval of the difference say whether a measured gap is larger than the test set's own noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InputError

__all__ = ["paired_bootstrap"]

Metric = Callable[[Sequence[Sequence[str]], Sequence[Sequence[Sequence[str]]]], float]


def paired_bootstrap(
    metric: Metric,
    a: Sequence[Sequence[str]],
    b: Sequence[Sequence[str]],
    references: Sequence[Sequence[Sequence[str]]],
    groups: Sequence[str] | None = None,
    samples: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """``{"a", "b", "diff", "p_a_better", "diff_lo", "diff_hi"}``: full-set scores, their difference,
    the share of resamples with metric(A) > metric(B) (ties count 1/2) and the 2.5/97.5 percentiles of
    the difference. ``groups`` names each item's group (default: every item is its own group)."""
    n = len(references)
    if len(a) != n or len(b) != n:
        raise InputError(f"a, b: expected {n} captions each (one per reference set), got {len(a)} and {len(b)}")
    if samples < 1:
        raise InputError(f"samples: expected >= 1, got {samples}")
    keys = list(groups) if groups is not None else [str(i) for i in range(n)]
    if len(keys) != n:
        raise InputError(f"groups: expected {n} group names, got {len(keys)}")
    members: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        members.setdefault(k, []).append(i)
    names = list(members)
    rng = np.random.default_rng(seed)
    diffs, wins = [], 0.0
    for _ in range(samples):
        idx = [i for g in rng.integers(len(names), size=len(names)) for i in members[names[g]]]
        sa = metric([a[i] for i in idx], [references[i] for i in idx])
        sb = metric([b[i] for i in idx], [references[i] for i in idx])
        diffs.append(sa - sb)
        wins += 1.0 if sa > sb else 0.5 if sa == sb else 0.0
    full_a, full_b = metric(a, references), metric(b, references)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {
        "a": full_a,
        "b": full_b,
        "diff": full_a - full_b,
        "p_a_better": wins / samples,
        "diff_lo": float(lo),
        "diff_hi": float(hi),
    }
