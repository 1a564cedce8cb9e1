"""CoNLL-style span extraction and slot F1 against hand-made spans."""

from __future__ import annotations

import pytest

from netloupe.errors import InputError
from netloupe.sequence.metrics import accuracy, bio_spans, slot_f1


def test_bio_spans_by_hand() -> None:
    # "arrive orlando on november 2nd" style sequence with a two-token span and a dangling I-.
    tags = ["O", "B-toloc", "O", "B-date.month", "I-date.month", "I-time", "B-x", "B-x"]
    assert bio_spans(tags) == {
        ("toloc", 1, 1),
        ("date.month", 3, 4),
        ("time", 5, 5),
        ("x", 6, 6),
        ("x", 7, 7),
    }
    assert bio_spans(["I-a", "I-a", "O"]) == {("a", 0, 1)}  # conlleval: I- after O starts a chunk
    assert bio_spans(["B-a", "I-b"]) == {("a", 0, 0), ("b", 1, 1)}
    assert bio_spans([]) == set()


def test_slot_f1_hand_counts() -> None:
    gold = [["B-from", "I-from", "O", "B-to"], ["B-date", "O"]]
    pred = [["B-from", "O", "O", "B-to"], ["B-date", "B-time"]]
    # gold spans: from(0,1), to(3,3), date(0,0) = 3; predicted: from(0,0), to, date, time = 4;
    # correct: to, date = 2
    s = slot_f1(gold, pred)
    assert (s.correct, s.predicted, s.gold) == (2, 4, 3)
    assert s.precision == pytest.approx(50.0)
    assert s.recall == pytest.approx(200 / 3)
    assert s.f1 == pytest.approx(2 * 50 * (200 / 3) / (50 + 200 / 3))
    assert slot_f1(gold, gold).f1 == pytest.approx(100.0)


def test_metric_errors() -> None:
    with pytest.raises(InputError, match="predicted"):
        slot_f1([["O"]], [["O", "O"]])
    with pytest.raises(InputError, match="predicted"):
        accuracy([1, 2], [1])
    assert accuracy(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == 75.0
