"""Corpus BLEU (Papineni, Roukos, Ward & Zhu, 2002), written out so that it can be checked by hand.

BLEU-N = BP * exp( sum_{n=1..N} (1/N) log p_n ), where p_n = sum_c sum_g min(count_c(g), max_r count_r(g)) /
sum_c sum_g count_c(g) pools clipped n-gram matches over the whole corpus, and the brevity penalty
BP = 1 if c > r else exp(1 - r / c), with c the total candidate length and r the sum over sentences of the
reference length closest to the candidate's (shorter one on ties). No smoothing: BLEU-N is 0 when some
p_n is 0 (as in the original definition and in NLTK's ``corpus_bleu`` without smoothing).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ..errors import InputError

__all__ = ["corpus_bleu", "ngram_precisions"]


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def ngram_precisions(
    candidates: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]], max_n: int = 4
) -> tuple[list[tuple[int, int]], int, int]:
    """Clipped matches and totals per order ``[(matches, total), ...]``, candidate length c, reference length r."""
    if len(candidates) != len(references):
        raise InputError(f"references: expected one list per candidate ({len(candidates)}), got {len(references)}")
    stats = [[0, 0] for _ in range(max_n)]
    c_len = r_len = 0
    for cand, refs in zip(candidates, references, strict=True):
        if not refs:
            raise InputError("references: every candidate needs at least one reference")
        c_len += len(cand)
        r_len += min((abs(len(r) - len(cand)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(cand, n)
            best: Counter[tuple[str, ...]] = Counter()
            for r in refs:
                best |= _ngrams(r, n)
            stats[n - 1][0] += sum(min(k, best[g]) for g, k in counts.items())
            stats[n - 1][1] += sum(counts.values())
    return [(m, t) for m, t in stats], c_len, r_len


def corpus_bleu(
    candidates: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]], max_n: int = 4
) -> dict[str, float]:
    """BLEU-1..``max_n`` of tokenised ``candidates`` against lists of tokenised ``references`` (in [0, 1]).

    Returns ``{"bleu1": ..., "bleuN": ..., "bp": brevity penalty}``.
    """
    stats, c, r = ngram_precisions(candidates, references, max_n)
    bp = 1.0 if c > r else (math.exp(1 - r / c) if c > 0 else 0.0)
    out: dict[str, float] = {"bp": bp}
    for n in range(1, max_n + 1):
        ps = [m / t if t else 0.0 for m, t in stats[:n]]
        out[f"bleu{n}"] = 0.0 if min(ps) == 0 else bp * math.exp(sum(math.log(p) for p in ps) / n)
    return out
