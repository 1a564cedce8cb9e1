"""Option parsing shared by commands: method lists, devices, model loading."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import torch
import typer

from ..cam.registry import available_methods, get_method
from ..errors import InputError

__all__ = ["METHODS_HELP", "Threads", "load_cli_model", "parse_device", "parse_methods", "set_threads"]

#: ``--threads N``: torch's CPU threads for the command (share it between commands with this alias).
Threads = Annotated[
    Optional[int],
    typer.Option(
        "--threads",
        help="CPU threads torch may use (default: torch's own choice, one per core). On a busy or shared "
        "machine fewer threads are often much faster, e.g. --threads 1.",
        show_default=False,
    ),
]


def set_threads(n: int | None) -> int:
    """Set torch's CPU threads to ``n`` (None: leave torch's default); returns the number now in effect.

    Raises:
        InputError: ``n`` is below 1.
    """
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"--threads: expected a whole number >= 1, got {n!r}")
        torch.set_num_threads(n)
    return torch.get_num_threads()


#: the help of every command's --method option
METHODS_HELP = (
    "Comma-separated methods, or auto: Grad-CAM, except attention rollout / gradient-weighted attention for "
    "class-token transformers (ViT, DeiT), where gradient CAMs miss the evidence."
)


def parse_methods(text: str) -> list[str]:
    """``"gradcam,gradcam++"`` -> registry names (unknown names raise with did-you-mean); ``"auto"`` is kept."""
    names = [t for t in (s.strip() for s in text.split(",")) if t]
    if not names:
        raise InputError(f"--method: expected auto or one or more of {', '.join(available_methods())}")
    if "auto" in names:
        if names != ["auto"]:
            raise InputError(f"--method: auto lets netloupe choose and stands alone, got {text!r}")
        return names
    return [get_method(n).name for n in names]


def parse_device(text: str) -> torch.device:
    """``auto`` picks CUDA when available."""
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise InputError(f"--device: expected auto, cpu, cuda or cuda:N, got {text!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device: CUDA was requested but no GPU is available")
    return device


def load_cli_model(model: str, arch: str | None, checkpoint: Path | None, trust_pickle: bool):  # type: ignore[no-untyped-def]
    """Load a model the way every command does (zoo name, file, or arch + checkpoint)."""
    from ..models.zoo import load_model

    return load_model(model, arch=arch, checkpoint=checkpoint, trust_pickle=trust_pickle)
