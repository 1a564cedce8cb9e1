"""The sequence and video models are zoo entries: listed, loadable by name, with their input kind."""

from __future__ import annotations

from importlib import resources

import pytest
import torch

from netloupe.errors import ModelLoadError
from netloupe.models.zoo import available_models, load_model

_NAMES = ["sentiment-lstm", "digits-rowlstm", "date-translator", "video-cnn-lstm", "video-conv3d"]


def _shipped(file: str) -> bool:
    return resources.files("netloupe.models").joinpath(f"data/{file}").is_file()


def test_sequence_models_are_listed() -> None:
    names = available_models()
    assert set(_NAMES) <= set(names)
    assert "efficientnet-lite0" in names  # the image models are still there


@pytest.mark.skipif(not _shipped("date_translator.pt"), reason="the shipped date translator is absent")
def test_date_translator_loads_from_the_zoo() -> None:
    from netloupe.sequence.translate_data import source_vocab
    from netloupe.sequence.translate_train import TranslatorBundle, batch_sources, translate

    loaded = load_model("date-translator")
    assert loaded.input_kind == "text" and loaded.class_names == list("0123456789-")
    bundle = TranslatorBundle(loaded.model, source_vocab())  # type: ignore[arg-type]
    assert translate(bundle, ["12 Mar 1999"]) == ["1999-03-12"]
    assert batch_sources(bundle.vocab, ["a"])[0].shape == (1, 1)


@pytest.mark.skipif(not _shipped("sentiment_lstm.pt"), reason="the shipped sentiment model is absent")
def test_sentiment_loads_from_the_zoo() -> None:
    loaded = load_model("sentiment-lstm")
    assert loaded.input_kind == "text" and len(loaded.class_names) == 2


@pytest.mark.parametrize("name", ["video-cnn-lstm", "video-conv3d"])
def test_video_models_load_or_say_how_to_train(name: str) -> None:
    if not _shipped(f"video_{name[6:].replace('-', '_')}.pt"):
        with pytest.raises(ModelLoadError, match="netloupe video train"):
            load_model(name)
        return
    loaded = load_model(name)
    assert loaded.input_kind == "video" and len(loaded.class_names) == 6
    x = torch.zeros(1, 16, 1, 32, 32)
    out = loaded.model(x if name == "video-cnn-lstm" else x.permute(0, 2, 1, 3, 4))
    assert out.shape == (1, 6)
