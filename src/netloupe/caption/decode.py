"""Greedy and beam-search decoding of a one-step language model (used by the captioner, testable alone).

A *step function* maps ``(tokens (B,), state) -> (log_probs (B, V), state)``; the state is a tuple of
tensors whose first dimension is the batch (hypotheses), so beams are re-ordered with ``index_select``.
Beam search keeps the ``beam`` best prefixes by summed log-probability (Graves, 2012; Sutskever, Vinyals &
Le, 2014), sets finished hypotheses aside and stops when no live prefix can beat the best finished one
(exact when ``alpha = 0``, because log-probabilities only fall as words are added). The final ranking
divides by ``length ** alpha`` (Wu et al., 2016 use a smoothed variant). ``min_len`` forbids ``<eos>``
before that many words (a minimum-length constraint; the caption's own probabilities are unchanged otherwise).
``no_repeat_ngram = n`` forbids any word that would complete an n-gram already in the prefix (the trigram
blocking of Paulus, Xiong & Socher, 2018, "A Deep Reinforced Model for Abstractive Summarization"): a
decoder that falls into a loop ("a large mass with a large mass with ...") must say something else.
``<eos>`` is never blocked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import InputError

__all__ = ["Hypothesis", "StepFn", "banned_words", "beam_search", "greedy_decode"]

State = tuple[Tensor, ...]
StepFn = Callable[[Tensor, State], tuple[Tensor, State]]


@dataclass
class Hypothesis:
    """A decoded word-id sequence (without ``<bos>``/``<eos>``) and its summed log-probability."""

    tokens: list[int]
    log_prob: float
    finished: bool


def banned_words(prefix: list[int], n: int) -> list[int]:
    """Words that would complete an ``n``-gram already present in ``prefix`` (none when ``n < 1``).

    ``n = 1`` bans every word already said; ``n = 3`` bans w when (prefix[-2], prefix[-1], w) occurred before.
    """
    if n < 1 or len(prefix) < n - 1:
        return []
    tail = tuple(prefix[len(prefix) - (n - 1) :])
    return sorted({prefix[i + n - 1] for i in range(len(prefix) - n + 1) if tuple(prefix[i : i + n - 1]) == tail})


def _constrain(logp: Tensor, prefixes: list[list[int]], t: int, eos: int, min_len: int, no_repeat: int) -> Tensor:
    """``logp`` with ``<eos>`` forbidden before ``min_len`` and repeated ``no_repeat``-grams forbidden."""
    if t >= min_len and no_repeat < 1:
        return logp
    logp = logp.clone()
    if t < min_len:
        logp[:, eos] = float("-inf")
    if no_repeat >= 1:
        for row, prefix in enumerate(prefixes):
            banned = [w for w in banned_words(prefix, no_repeat) if w != eos]
            if banned:
                logp[row, banned] = float("-inf")
    return logp


def _check_lengths(max_len: int, min_len: int, no_repeat: int) -> None:
    if max_len < 1:
        raise InputError(f"max_len: must be >= 1, got {max_len}")
    if not 0 <= min_len < max_len:
        raise InputError(f"min_len: must be in [0, max_len={max_len}), got {min_len}")
    if no_repeat < 0:
        raise InputError(f"no_repeat_ngram: must be >= 0 (0 = off), got {no_repeat}")


@torch.no_grad()
def greedy_decode(
    step: StepFn,
    state: State,
    bos: int,
    eos: int,
    max_len: int = 30,
    min_len: int = 0,
    no_repeat_ngram: int = 0,
) -> list[Hypothesis]:
    """Most probable allowed next word at every step, for a batch of ``B`` start states.

    No ``<eos>`` before ``min_len`` words; with ``no_repeat_ngram = n`` no n-gram occurs twice.
    """
    _check_lengths(max_len, min_len, no_repeat_ngram)
    b = state[0].shape[0]
    device = state[0].device
    tokens = torch.full((b,), bos, dtype=torch.long, device=device)
    out = torch.zeros(b, max_len, dtype=torch.long, device=device)
    score = torch.zeros(b, device=device)
    alive = torch.ones(b, dtype=torch.bool, device=device)
    lengths = torch.full((b,), max_len, dtype=torch.long, device=device)
    for t in range(max_len):
        logp, state = step(tokens, state)
        prefixes = out[:, :t].tolist() if no_repeat_ngram else [[] for _ in range(b)]
        logp = _constrain(logp, prefixes, t, eos, min_len, no_repeat_ngram)
        lp, tokens = logp.max(1)
        score = score + lp * alive
        out[:, t] = tokens
        ended = alive & (tokens == eos)
        lengths = torch.where(ended, torch.full_like(lengths, t), lengths)
        alive = alive & ~ended
        if not alive.any():
            break
    return [Hypothesis(out[i, : lengths[i]].tolist(), float(score[i]), bool(lengths[i] < max_len)) for i in range(b)]


@torch.no_grad()
def beam_search(
    step: StepFn,
    state: State,
    bos: int,
    eos: int,
    beam: int = 3,
    max_len: int = 30,
    alpha: float = 0.0,
    min_len: int = 0,
    no_repeat_ngram: int = 0,
) -> list[Hypothesis]:
    """Beam search for ONE start state (batch 1); returns finished hypotheses, best first.

    ``min_len`` and ``no_repeat_ngram`` constrain every hypothesis as in :func:`greedy_decode`.
    """
    _check_lengths(max_len, min_len, no_repeat_ngram)
    if beam < 1:
        raise InputError(f"beam: must be >= 1, got {beam}")
    if state[0].shape[0] != 1:
        raise InputError(f"state: beam search decodes one sequence at a time, got batch {state[0].shape[0]}")
    device = state[0].device
    prefixes: list[list[int]] = [[]]
    scores = torch.zeros(1, device=device)
    tokens = torch.tensor([bos], device=device)
    finished: list[Hypothesis] = []

    def rank(h: Hypothesis) -> float:
        return h.log_prob / max(1, len(h.tokens) + 1) ** alpha

    for t in range(max_len):
        logp, state = step(tokens, state)
        logp = _constrain(logp, prefixes, t, eos, min_len, no_repeat_ngram)
        cand = (scores[:, None] + logp).flatten()
        top = cand.topk(min(beam * 2, cand.numel()))
        vocab = logp.shape[1]
        keep_rows, keep_tok, keep_score, new_prefixes = [], [], [], []
        for s, flat in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            if s == float("-inf"):
                break  # only forbidden continuations are left
            row, tok = divmod(flat, vocab)
            if tok == eos:
                finished.append(Hypothesis(prefixes[row], s, True))
            else:
                keep_rows.append(row)
                keep_tok.append(tok)
                keep_score.append(s)
                new_prefixes.append([*prefixes[row], tok])
            if len(keep_rows) == beam:
                break
        if not keep_rows:
            break
        best_done = max((h.log_prob for h in finished), default=float("-inf"))
        if alpha == 0.0 and max(keep_score) <= best_done:
            break
        idx = torch.tensor(keep_rows, device=device)
        state = tuple(s.index_select(0, idx) for s in state)
        tokens = torch.tensor(keep_tok, device=device)
        scores = torch.tensor(keep_score, device=device)
        prefixes = new_prefixes
    else:
        finished += [Hypothesis(p, float(s), False) for p, s in zip(prefixes, scores.tolist(), strict=True)]
    if not finished:  # every live prefix ran out of room
        finished = [Hypothesis(p, float(s), False) for p, s in zip(prefixes, scores.tolist(), strict=True)]
    return sorted(finished, key=rank, reverse=True)
