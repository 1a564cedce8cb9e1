"""Option parsing shared by commands: method lists, devices, model loading."""

from __future__ import annotations

from pathlib import Path

import torch

from ..cam.registry import available_methods, get_method
from ..errors import InputError

__all__ = ["load_cli_model", "parse_device", "parse_methods"]


def parse_methods(text: str) -> list[str]:
    """``"gradcam,gradcam++"`` -> registry names (unknown names raise with did-you-mean)."""
    names = [t for t in (s.strip() for s in text.split(",")) if t]
    if not names:
        raise InputError(f"--method: expected one or more of {', '.join(available_methods())}")
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
