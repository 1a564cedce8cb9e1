"""CLI options for how a model's layers and outputs are read: ``--layout`` and ``--output``.

Shared by ``explain`` and ``run`` (wired there by their owners): declare a parameter with the alias
and pass the parsed value to :class:`netloupe.Explainer` (``reshape=``) and to the output selection.

>>> parse_layout("NHWC")
'channels-last'
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import InputError
from ..layout import LAYOUTS, check_layout_name

__all__ = ["LayoutOption", "OutputOption", "parse_layout", "parse_output"]

LayoutOption = Annotated[
    str,
    typer.Option(
        "--layout",
        help=(
            "How the layer's output is read: auto (from its shape and the model), channels-first, "
            "channels-last (Swin, ConvNeXt blocks) or tokens (ViT/DeiT/DINOv2; prefix tokens read from the model)."
        ),
    ),
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        help="For models returning a dict/ModelOutput/tuple: the key (or index) of the scores to explain "
        "(default: logits, else the first tensor).",
    ),
]


def parse_layout(text: str) -> str:
    """A ``--layout`` value, normalised to one of ``auto``, ``channels-first``, ``channels-last``, ``tokens``."""
    try:
        return check_layout_name(text)
    except InputError as exc:
        raise InputError(f"--layout: expected one of {', '.join(LAYOUTS)}, got {text!r}") from exc


def parse_output(text: str | None) -> str | int | None:
    """A ``--output`` value: None (default), an integer index for tuple outputs, or a key."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text
