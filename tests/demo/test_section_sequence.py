"""The demo's sequence section builds from the shipped weights alone."""

from __future__ import annotations

import torch

from netloupe.demo.runner import DemoContext
from netloupe.demo.section_sequence import build
from netloupe.sequence.checkpoint import load_bundle


def test_shipped_models_load_and_score() -> None:
    sentiment = load_bundle("sentiment")
    assert sentiment.metrics["accuracy"] >= 80.0
    assert sentiment.card
    digits = load_bundle("digits")
    x = torch.zeros(1, 8, 8)
    assert digits.model(x).shape == (1, 10)


def test_section_builds(fast_context: DemoContext) -> None:
    section = build(fast_context)
    assert section is not None
    assert section.body.count("data:image/png;base64,") == 2
    assert section.body.count("<span") > 10
