"""CIDEr-D (Vedantam, Zitnick & Parikh, 2015, "CIDEr: Consensus-based Image Description Evaluation").

Every sentence s becomes, for each n-gram order n, a TF-IDF vector g^n(s) with (eq. 1)

    g_k(s) = h_k(s) / sum_l h_l(s) * log( |I| / max(1, sum_p min(1, sum_q h_k(s_pq))) )

where h_k(s) counts n-gram k in s and the IDF's document frequency is the number of images whose
reference set contains k (an n-gram no reference contains gets document frequency 1). CIDEr-D (section
4.1 / 5) clips the candidate's counts by the reference's and damps length differences:

    CIDEr-D_n(c, S) = 10/m * sum_j exp(-(l_c - l_sj)^2 / (2 sigma^2)) * <min(g^n(c), g^n(s_j)), g^n(s_j)>
                      / (||g^n(c)|| ||g^n(s_j)||)
    CIDEr-D(c, S) = 1/N * sum_{n=1..N} CIDEr-D_n(c, S),   N = 4, sigma = 6,

and the corpus score is the mean over images. A caption identical to each of its references scores 10
when no n-gram is shared by every image.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ..errors import InputError

__all__ = ["cider_d"]

Vector = dict[tuple[str, ...], float]


def _counts(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _vector(counts: Counter[tuple[str, ...]], df: Counter[tuple[str, ...]], log_images: float) -> Vector:
    total = sum(counts.values())
    if total == 0:
        return {}
    return {g: k / total * (log_images - math.log(max(1, df[g]))) for g, k in counts.items()}


def _norm(v: Vector) -> float:
    return math.sqrt(sum(x * x for x in v.values()))


def cider_d(
    candidates: Sequence[Sequence[str]],
    references: Sequence[Sequence[Sequence[str]]],
    max_n: int = 4,
    sigma: float = 6.0,
) -> tuple[float, list[float]]:
    """Corpus CIDEr-D and the per-image scores of tokenised ``candidates`` against their ``references``."""
    if len(candidates) != len(references):
        raise InputError(f"references: expected one list per candidate ({len(candidates)}), got {len(references)}")
    if not candidates:
        raise InputError("candidates: need at least one caption to score")
    if any(not refs for refs in references):
        raise InputError("references: every candidate needs at least one reference")
    log_images = math.log(len(candidates))
    per_image = [0.0] * len(candidates)
    for n in range(1, max_n + 1):
        df: Counter[tuple[str, ...]] = Counter()
        for refs in references:
            df.update({g for r in refs for g in _counts(r, n)})
        for i, (cand, refs) in enumerate(zip(candidates, references, strict=True)):
            vc = _vector(_counts(cand, n), df, log_images)
            nc = _norm(vc)
            total = 0.0
            for ref in refs:
                vr = _vector(_counts(ref, n), df, log_images)
                nr = _norm(vr)
                if nc == 0 or nr == 0:
                    continue
                dot = sum(min(x, vr[g]) * vr[g] for g, x in vc.items() if g in vr)
                total += math.exp(-((len(cand) - len(ref)) ** 2) / (2 * sigma**2)) * dot / (nc * nr)
            per_image[i] += 10.0 * total / len(refs) / max_n
    return sum(per_image) / len(per_image), per_image
