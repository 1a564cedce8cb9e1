"""The --layout / --output option parsers (wired into explain/run by the CLI's owner)."""

from __future__ import annotations

import pytest

from netloupe.cli._model_options import parse_layout, parse_output
from netloupe.errors import InputError


def test_parse_layout_names() -> None:
    assert parse_layout("auto") == "auto"
    assert parse_layout("tokens") == "tokens"
    assert parse_layout("channels_last") == "channels-last"
    assert parse_layout("NCHW") == "channels-first"
    with pytest.raises(InputError, match="--layout: expected one of auto, channels-first"):
        parse_layout("sideways")


def test_parse_output_keys_and_indices() -> None:
    assert parse_output(None) is None
    assert parse_output("logits") == "logits"
    assert parse_output("1") == 1
