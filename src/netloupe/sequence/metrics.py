"""Scores for sequence tasks: CoNLL-style exact-span slot F1 and accuracy.

Slot F1 follows the CoNLL-2000 ``conlleval`` convention (Tjong Kim Sang & Buchholz, 2000): a chunk
starts at ``B-X``, or at ``I-X`` when the previous tag is not of type X; it ends before ``O``, any
``B-``, or an ``I-`` of another type. A predicted chunk is correct only if its type, first and last
token all equal a gold chunk's. Precision, recall and F1 are micro-averaged over all chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["SpanScores", "accuracy", "bio_spans", "slot_f1"]


def _split(tag: str) -> tuple[str, str]:
    if tag in ("O", "PAD", "UNK", ""):
        return "O", ""
    prefix, _, kind = tag.partition("-")
    if prefix not in ("B", "I") or not kind:
        return "O", ""  # not a BIO tag: treated as outside
    return prefix, kind


def bio_spans(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """Chunks ``(type, first, last)`` (inclusive token indices) of one BIO tag sequence."""
    spans: set[tuple[str, int, int]] = set()
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, k = _split(tag)
        starts_new = prefix == "B" or (prefix == "I" and k != kind)
        if kind and (prefix == "O" or starts_new):
            spans.add((kind, start, i - 1))
            kind = ""
        if starts_new:
            start, kind = i, k
    return spans


@dataclass(frozen=True)
class SpanScores:
    """Micro-averaged exact-span scores (percentages)."""

    precision: float
    recall: float
    f1: float
    correct: int
    predicted: int
    gold: int


def slot_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> SpanScores:
    """CoNLL exact-span precision/recall/F1 (in %) over aligned gold and predicted tag sequences."""
    if len(gold) != len(predicted):
        raise InputError(f"predicted: expected {len(gold)} tag sequences (one per gold), got {len(predicted)}")
    correct = n_pred = n_gold = 0
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise InputError(f"predicted: sequence {i} has {len(p)} tags, gold has {len(g)}")
        gs, ps = bio_spans(g), bio_spans(p)
        correct += len(gs & ps)
        n_pred += len(ps)
        n_gold += len(gs)
    precision = 100.0 * correct / n_pred if n_pred else 0.0
    recall = 100.0 * correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SpanScores(precision, recall, f1, correct, n_pred, n_gold)


def accuracy(gold: Sequence[object], predicted: Sequence[object]) -> float:
    """Percentage of positions where ``predicted`` equals ``gold``."""
    if len(gold) != len(predicted) or not gold:
        raise InputError(f"predicted: expected {len(gold)} (> 0) labels, got {len(predicted)}")
    return 100.0 * sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
