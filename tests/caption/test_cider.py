"""CIDEr-D against hand-computed values from the formula of Vedantam et al. (2015)."""

from __future__ import annotations

import math

import pytest

from netloupe.caption.cider import cider_d
from netloupe.errors import InputError


def test_identical_captions_score_ten_and_disjoint_zero() -> None:
    refs = [[["a", "big", "red", "circle"]], [["one", "small", "blue", "square"]]]
    score, per = cider_d([["a", "big", "red", "circle"], ["one", "small", "blue", "square"]], refs)
    assert per == pytest.approx([10.0, 10.0])
    assert score == pytest.approx(10.0)
    # three words have no 4-gram: that order contributes 0, so a perfect 3-word caption scores 10 * 3/4
    _, per = cider_d([["a", "b", "c"], ["d", "e", "f"]], [[["a", "b", "c"]], [["d", "e", "f"]]])
    assert per == pytest.approx([7.5, 7.5])
    score, _ = cider_d([["x", "y", "z"], ["u", "v", "w"]], refs)
    assert score == 0.0


def test_unigram_hand_values() -> None:
    # two images; every unigram is in exactly one reference set: idf = log(2/1) = L for all of them.
    refs = [[["a", "b"]], [["c", "d"]]]
    # image 0: "a c" vs "a b": g_c = {a: L/2, c: L/2}, g_r = {a: L/2, b: L/2};
    #   <min(g_c, g_r), g_r> = L^2/4, norms L/sqrt(2) each -> 1/2; same length -> 10 * 1/2 = 5.
    # image 1: "c d d" vs "c d": g_c = {c: L/3, d: 2L/3}, g_r = {c: L/2, d: L/2};
    #   <min, g_r> = L/3 * L/2 + L/2 * L/2 = 5 L^2 / 12; |g_c| = sqrt(5) L / 3, |g_r| = L / sqrt(2);
    #   length penalty exp(-(3 - 2)^2 / (2 * 36)).
    second = 10 * (5 / 12) / (math.sqrt(5) / 3 / math.sqrt(2)) * math.exp(-1 / 72)
    score, per = cider_d([["a", "c"], ["c", "d", "d"]], refs, max_n=1)
    assert per == pytest.approx([5.0, second])
    assert second == pytest.approx(7.7967, abs=1e-4)
    assert score == pytest.approx((5.0 + second) / 2)


def test_ngram_seen_in_every_image_carries_no_weight() -> None:
    # "a" is in both reference sets: idf = log(2/2) = 0, so matching only "a" earns nothing.
    refs = [[["a", "b"]], [["a", "c"]]]
    _, per = cider_d([["a", "x"], ["a", "c"]], refs, max_n=1)
    assert per[0] == 0.0
    assert per[1] == pytest.approx(10.0)


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="references"):
        cider_d([["a"]], [])
    with pytest.raises(InputError, match="references"):
        cider_d([["a"]], [[]])
