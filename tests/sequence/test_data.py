"""Dataset readers on the real shared data (skipped when absent) and the cuDNN guard."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from netloupe.attribution import rnn_backward_safe
from netloupe.errors import InputError
from netloupe.sequence.data import Vocab, read_ecg200, read_mitbih_beats, read_sentiment, read_slot_split


def test_rnn_backward_safe_disables_cudnn_only_on_gpu() -> None:
    before = torch.backends.cudnn.enabled
    with rnn_backward_safe(torch.device("cuda")):
        assert torch.backends.cudnn.enabled is False
    assert torch.backends.cudnn.enabled == before
    with rnn_backward_safe(torch.device("cpu")):
        assert torch.backends.cudnn.enabled == before


def test_vocab_oov() -> None:
    v = Vocab.build([["a", "b", "a"], ["c"]], min_count=2)
    assert v.tokens == ["<pad>", "<unk>", "a"]
    assert v.encode(["a", "zzz"]) == [2, 1]
    assert v.unknown(["a", "zzz"]) == ["zzz"]


def test_missing_folders_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"seq\.in"):
        read_slot_split(tmp_path, "train")
    with pytest.raises(InputError, match="labelled"):
        read_sentiment(tmp_path)
    with pytest.raises(InputError, match="ECG200_TEST"):
        read_ecg200(tmp_path, "TEST")


@pytest.mark.slow
def test_real_readers(shared_data: Path) -> None:
    atis = read_slot_split(shared_data / "atis", "test")
    assert len(atis.tokens) == 893
    s, y, src = read_sentiment(shared_data / "sentiment-labelled-sentences")
    assert len(s) == 3000
    assert sum(y) == 1500
    assert sorted(set(src)) == ["amazon", "imdb", "yelp"]
    x, lab = read_ecg200(shared_data / "ecg200", "TEST")
    assert x.shape == (100, 1, 96)
    assert int(lab.sum()) == 36  # 36 infarction beats in the official test file
    beats = read_mitbih_beats(shared_data / "mitbih-record100" / "100")
    assert beats.beats.shape[1:] == (1, 96)
    assert beats.symbols.count("A") >= 30
