"""Paired bootstrap: a perfect system always wins, identical systems tie, groups are resampled whole."""

from __future__ import annotations

import pytest

from netloupe.caption.bleu import corpus_bleu
from netloupe.caption.significance import paired_bootstrap
from netloupe.errors import InputError


def bleu1(c, r):  # type: ignore[no-untyped-def]
    return corpus_bleu(c, r, max_n=1)["bleu1"]


REFS = [[["a", "red", "circle"]], [["a", "blue", "square"]], [["one", "green", "star"]], [["two", "cats"]]]
GOOD = [r[0] for r in REFS]
BAD = [["x", "y", "z"], ["a", "y", "z"], ["u", "v", "w"], ["two", "dogs"]]


def test_perfect_system_always_wins_and_identical_systems_tie() -> None:
    res = paired_bootstrap(bleu1, GOOD, BAD, REFS, samples=200, seed=1)
    assert res["a"] == pytest.approx(1.0) and res["p_a_better"] == 1.0 and res["diff_lo"] > 0
    # BLEU-1 of BAD: 2 clipped matches ("a", "two") of 11 words, no brevity penalty (11 = 11)
    assert res["b"] == pytest.approx(2 / 11)
    same = paired_bootstrap(bleu1, BAD, BAD, REFS, samples=50)
    assert same["p_a_better"] == 0.5 and same["diff"] == 0.0 and same["diff_lo"] == same["diff_hi"] == 0.0


def test_one_group_is_resampled_whole() -> None:
    # all items in one group: every resample is the full set, so the difference never varies
    res = paired_bootstrap(bleu1, GOOD, BAD, REFS, groups=["case"] * 4, samples=20)
    assert res["diff_lo"] == pytest.approx(res["diff"]) and res["diff_hi"] == pytest.approx(res["diff"])
    with pytest.raises(InputError, match="groups"):
        paired_bootstrap(bleu1, GOOD, BAD, REFS, groups=["a"])
    with pytest.raises(InputError, match="a, b"):
        paired_bootstrap(bleu1, GOOD[:2], BAD, REFS)
