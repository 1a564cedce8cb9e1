"""BLEU against hand-computed values; caption tokens, vocabulary and structured fields."""

from __future__ import annotations

import math

import pytest

from netloupe.caption.bleu import corpus_bleu, ngram_precisions
from netloupe.caption.text import CaptionVocab, caption_fields, tokenize_caption
from netloupe.errors import InputError


def test_bleu_hand_computed_single_pair() -> None:
    # candidate "the cat sat on the mat" vs reference "the cat is on the mat"
    cand = ["the", "cat", "sat", "on", "the", "mat"]
    ref = ["the", "cat", "is", "on", "the", "mat"]
    stats, c, r = ngram_precisions([cand], [[ref]])
    # unigrams: the x2, cat, on, mat match (5/6); bigrams: the-cat, on-the, the-mat (3/5);
    # trigrams: on-the-mat (1/4); 4-grams: 0/3
    assert stats == [(5, 6), (3, 5), (1, 4), (0, 3)]
    assert (c, r) == (6, 6)
    b = corpus_bleu([cand], [[ref]])
    assert b["bleu1"] == pytest.approx(5 / 6)
    assert b["bleu2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5))
    assert b["bleu3"] == pytest.approx((5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3))
    assert b["bleu4"] == 0.0


def test_bleu_clipping_and_brevity_penalty_over_corpus() -> None:
    # Papineni et al.'s clipping example: "the the the the the the the" vs "the cat is on the mat": 2/7
    b = corpus_bleu([["the"] * 7], [[["the", "cat", "is", "on", "the", "mat"]]], max_n=1)
    assert b["bleu1"] == pytest.approx(2 / 7)
    # corpus: c = 2 + 3 = 5, r = 4 + 3 = 7 -> BP = exp(1 - 7/5); unigram matches (2 + 3) / 5 = 1
    cands = [["a", "b"], ["c", "d", "e"]]
    refs = [[["a", "b", "x", "y"]], [["c", "d", "e"]]]
    b = corpus_bleu(cands, refs, max_n=2)
    assert b["bp"] == pytest.approx(math.exp(1 - 7 / 5))
    assert b["bleu1"] == pytest.approx(math.exp(1 - 7 / 5))
    assert b["bleu2"] == pytest.approx(math.exp(1 - 7 / 5) * math.sqrt(1.0 * 3 / 3))


def test_bleu_closest_reference_length_and_errors() -> None:
    # references of length 2 and 5; candidate length 4 -> closest is 5 -> BP = exp(1 - 5/4)
    b = corpus_bleu([["a", "b", "c", "d"]], [[["a", "b"], ["a", "b", "c", "d", "e"]]], max_n=1)
    assert b["bp"] == pytest.approx(math.exp(1 - 5 / 4))
    with pytest.raises(InputError, match="references"):
        corpus_bleu([["a"]], [])


def test_vocab_rejects_empty_and_all_oov_captions() -> None:
    vocab = CaptionVocab.build([["axial", "ct"], ["axial", "mr"]], min_count=2)
    assert vocab.words == ["<pad>", "<unk>", "<bos>", "<eos>", "axial"]
    assert vocab.encode(["axial", "zzz"]) == [2, 4, 1, 3]
    with pytest.raises(InputError, match="empty"):
        vocab.encode(tokenize_caption("  ...  ")[:0])
    with pytest.raises(InputError, match="out of vocabulary"):
        vocab.encode(["foo", "bar"])
    assert vocab.decode([4, 1, 3, 4]) == ["axial", "<unk>"]


def test_caption_fields() -> None:
    f = caption_fields("Axial T2-weighted MR image of the brain shows a mass in the left frontal lobe.")
    assert f == {"modality": "MR", "plane": "Axial", "region": "Head"}
    f = caption_fields("Coronal CT of the abdomen: liver lesion")
    assert f == {"modality": "CT", "plane": "Coronal", "region": "Abdomen"}
    assert caption_fields("Mesenteric carcinoid") == {"modality": None, "plane": None, "region": "Abdomen"}
    assert caption_fields("") == {"modality": None, "plane": None, "region": None}
