"""The Sentences page serves the date translator: ISO label, per-output attention and attribution rows."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import pytest
import torch

from netloupe.web.schemas import TextOut
from netloupe.web.text import TextModels


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


_SHIPPED = resources.files("netloupe.models").joinpath("data/date_translator.pt").is_file()


@pytest.mark.skipif(not _SHIPPED, reason="the shipped date translator is absent")
def test_text_models_serve_the_translator() -> None:
    models = TextModels(None)
    assert "date-translator" in models.names
    out = models.explain("date-translator", "Tuesday 12 March 1999")
    assert out["label"] == "1999-03-12"
    assert [t["token"] for t in out["tokens"]] == list("Tuesday 12 March 1999")
    rows = out["rows"]
    assert [r["output"] for r in rows] == list("1999-03-12")
    assert all(abs(sum(r["attention"]) - 1) < 1e-4 for r in rows)
    TextOut(**out)  # the response model accepts it


def test_injected_models_have_no_rows() -> None:
    models = TextModels({"m": lambda text: {"tokens": ["a"], "scores": [1.0], "label": "x", "probability": 0.5}})
    out = models.explain("m", "a")
    assert out["rows"] is None and TextOut(**out).rows is None
