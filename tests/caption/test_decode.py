"""Greedy and beam decoding on a tiny vocabulary whose answers are known by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from netloupe.caption.decode import beam_search, greedy_decode
from netloupe.errors import InputError

BOS, EOS, A, B = 0, 1, 2, 3
# Next-word probabilities given the last word (a first-order chain).
TABLE = torch.tensor([
    [0.0, 0.0, 0.6, 0.4],  # after <bos>: a 0.6, b 0.4
    [0.0, 1.0, 0.0, 0.0],  # after <eos>: stay
    [0.0, 0.4, 0.3, 0.3],  # after a: <eos> 0.4
    [0.0, 0.9, 0.05, 0.05],  # after b: <eos> 0.9
])


def step(tokens: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
    return TABLE[tokens].clamp_min(1e-12).log(), state


def test_greedy_takes_the_locally_best_word() -> None:
    hyps = greedy_decode(step, (torch.zeros(2, 1),), BOS, EOS, max_len=5)
    # greedy: a (0.6) then <eos> (0.4): p = 0.24
    assert [h.tokens for h in hyps] == [[A], [A]]
    assert hyps[0].log_prob == pytest.approx(math.log(0.24), rel=1e-5)
    assert hyps[0].finished


def test_beam_finds_the_globally_better_caption() -> None:
    # "b <eos>" has p = 0.36 > 0.24: a beam of 2 finds it, a beam of 1 equals greedy
    best = beam_search(step, (torch.zeros(1, 1),), BOS, EOS, beam=2, max_len=5)[0]
    assert best.tokens == [B]
    assert best.log_prob == pytest.approx(math.log(0.36), rel=1e-5)
    assert beam_search(step, (torch.zeros(1, 1),), BOS, EOS, beam=1, max_len=5)[0].tokens == [A]


def test_decoding_stops_at_max_len_and_rejects_bad_arguments() -> None:
    loop = torch.tensor([[0.0, 0.0, 1.0, 0.0]] * 4)

    def never_ends(tokens: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        return loop[tokens].clamp_min(1e-12).log(), state

    h = greedy_decode(never_ends, (torch.zeros(1, 1),), BOS, EOS, max_len=3)[0]
    assert h.tokens == [A, A, A] and not h.finished
    assert beam_search(never_ends, (torch.zeros(1, 1),), BOS, EOS, beam=2, max_len=3)[0].tokens == [A, A, A]
    with pytest.raises(InputError, match="beam"):
        beam_search(step, (torch.zeros(1, 1),), BOS, EOS, beam=0)
    with pytest.raises(InputError, match="one sequence"):
        beam_search(step, (torch.zeros(2, 1),), BOS, EOS, beam=2)


def test_min_len_forbids_an_early_end() -> None:
    # greedy with min_len 2: a (0.6), then <eos> is forbidden: a (0.3, first of the tie), then <eos> (0.4)
    h = greedy_decode(step, (torch.zeros(1, 1),), BOS, EOS, max_len=5, min_len=2)[0]
    assert h.tokens == [A, A] and h.finished
    assert h.log_prob == pytest.approx(math.log(0.6 * 0.3 * 0.4), rel=1e-5)
    # beam 2 with min_len 2: "a b <eos>" = 0.6 * 0.3 * 0.9 = 0.162 beats "a a <eos>" = 0.072
    best = beam_search(step, (torch.zeros(1, 1),), BOS, EOS, beam=2, max_len=5, min_len=2)[0]
    assert best.tokens == [A, B]
    assert best.log_prob == pytest.approx(math.log(0.162), rel=1e-5)
    with pytest.raises(InputError, match="min_len"):
        greedy_decode(step, (torch.zeros(1, 1),), BOS, EOS, max_len=3, min_len=3)
