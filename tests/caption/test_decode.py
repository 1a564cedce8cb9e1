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


def test_banned_words_by_hand() -> None:
    from netloupe.caption.decode import banned_words

    assert banned_words([5, 6, 7, 5, 6], 3) == [7]  # (5, 6, 7) was said: after "5 6" the word 7 is banned
    assert banned_words([6, 7, 5, 6, 9, 6], 2) == [7, 9]  # bigrams (6, 7) and (6, 9) were said
    assert banned_words([5, 6, 5, 8], 2) == []  # no earlier bigram starts with 8
    assert banned_words([4, 4, 9], 1) == [4, 9]  # unigrams: every word already said
    assert banned_words([5, 6], 3) == []  # no trigram yet
    assert banned_words([5, 6, 7], 0) == []  # off


LOOP = torch.tensor([
    [0.0, 0.0, 0.7, 0.3],  # after <bos>: a 0.7, b 0.3
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.05, 0.15, 0.8],  # after a: b 0.8
    [0.0, 0.1, 0.6, 0.3],  # after b: a 0.6
])


def looping(tokens: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
    return LOOP[tokens].log(), state


def test_no_repeat_ngram_breaks_a_loop_by_hand() -> None:
    # unconstrained greedy loops: a b a b a b
    assert greedy_decode(looping, (torch.zeros(1, 1),), BOS, EOS, max_len=6)[0].tokens == [A, B, A, B, A, B]
    # no repeated bigram: a b a, then b would repeat (a, b): the next best after a is a (0.15) -> a b a a,
    # then (a, b) and (a, a) are both said: only <eos> (0.05) is left
    h = greedy_decode(looping, (torch.zeros(1, 1),), BOS, EOS, max_len=6, no_repeat_ngram=2)[0]
    assert h.tokens == [A, B, A, A] and h.finished
    assert h.log_prob == pytest.approx(math.log(0.7 * 0.8 * 0.6 * 0.15 * 0.05), rel=1e-5)
    # no repeated trigram: a b a b, then a would repeat (a, b, a) -> b (0.3): a b a b b, then (b, b, a) is new
    h3 = greedy_decode(looping, (torch.zeros(1, 1),), BOS, EOS, max_len=6, no_repeat_ngram=3)[0]
    assert h3.tokens == [A, B, A, B, B, A]
    b2 = beam_search(looping, (torch.zeros(1, 1),), BOS, EOS, beam=1, max_len=6, no_repeat_ngram=2)[0]
    assert b2.tokens == [A, B, A, A] and b2.log_prob == pytest.approx(h.log_prob, rel=1e-5)
    with pytest.raises(InputError, match="no_repeat_ngram"):
        greedy_decode(looping, (torch.zeros(1, 1),), BOS, EOS, no_repeat_ngram=-1)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_no_repeat_ngram_never_emits_a_repeated_ngram(n: int) -> None:
    gen = torch.Generator().manual_seed(n)
    vocab = 7
    for trial in range(20):
        table = torch.rand(vocab, vocab, generator=gen) ** 4  # peaked: unconstrained decoding repeats a lot
        table[:, EOS] *= 0.05
        table[:, BOS] = 0.0
        table = table / table.sum(1, keepdim=True)

        def step(tokens: Tensor, state: tuple[Tensor, ...], t: Tensor = table) -> tuple[Tensor, tuple[Tensor, ...]]:
            return t[tokens].clamp_min(1e-12).log(), state

        hyps = greedy_decode(step, (torch.zeros(3, 1),), BOS, EOS, max_len=12, no_repeat_ngram=n)
        hyps += beam_search(step, (torch.zeros(1, 1),), BOS, EOS, beam=3, max_len=12, min_len=4, no_repeat_ngram=n)
        for h in hyps:
            grams = [tuple(h.tokens[i : i + n]) for i in range(len(h.tokens) - n + 1)]
            assert len(grams) == len(set(grams)), (trial, h.tokens)
        plain = greedy_decode(step, (torch.zeros(1, 1),), BOS, EOS, max_len=12)[0].tokens
        if trial == 0 and n == 2:
            grams = [tuple(plain[i : i + 2]) for i in range(len(plain) - 1)]
            assert len(grams) > len(set(grams))  # the constraint had something to do
