"""Saving and loading trained sequence models together with what is needed to use them.

A checkpoint is a plain dict loadable with ``torch.load(weights_only=True)``: the model's config and
state dict, the task, the vocabulary and label names, the metrics and a short model card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ModelLoadError, did_you_mean
from ..io.atomic import atomic_write
from .data import Vocab
from .models import build_model

__all__ = ["FORMAT", "SHIPPED_MODELS", "SequenceBundle", "load_bundle", "save_bundle"]

FORMAT = "netloupe-sequence/1"
#: Models that ship inside the package (trained on permissively licensed data), name -> file.
SHIPPED_MODELS = {"sentiment": "sentiment_lstm.pt", "digits": "digits_rowlstm.pt"}


@dataclass
class SequenceBundle:
    """A trained sequence model with its task, vocabulary, label names and card."""

    task: str
    model: nn.Module
    labels: list[str]
    vocab: Vocab | None = None
    slot_labels: list[str] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    card: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """ "text" (sentences), "signal" ((1, L) beats) or "image-rows" (digits)."""
        return str(self.meta.get("kind", "text" if self.vocab is not None else "signal"))


def save_bundle(bundle: SequenceBundle, path: str | Path, half: bool = False) -> Path:
    """Write ``bundle`` to ``path`` atomically (temp file + rename); ``half`` stores float16 weights."""
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in bundle.model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "task": bundle.task,
        "config": bundle.model.config,
        "state_dict": state,
        "labels": list(bundle.labels),
        "vocab": None if bundle.vocab is None else list(bundle.vocab.tokens),
        "slot_labels": bundle.slot_labels,
        "metrics": {k: float(v) for k, v in bundle.metrics.items()},
        "card": bundle.card,
        "meta": bundle.meta,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_bundle(name_or_path: str | Path, device: str | torch.device = "cpu") -> SequenceBundle:
    """Load a shipped model by name (``"sentiment"``, ``"digits"``) or a checkpoint written by training."""
    name = str(name_or_path)
    if name in SHIPPED_MODELS:
        ref = resources.files("netloupe.models").joinpath(f"data/{SHIPPED_MODELS[name]}")
        with resources.as_file(ref) as p:
            if not p.is_file():
                raise ModelLoadError(f"model: the shipped {name!r} weights are missing from the installation")
            return _load(p, device)
    path = Path(name)
    if not path.is_file():
        raise ModelLoadError(
            f"model: {name!r} is neither a shipped sequence model ({', '.join(sorted(SHIPPED_MODELS))}) "
            f"nor an existing checkpoint file{did_you_mean(name, SHIPPED_MODELS)}"
        )
    return _load(path, device)


def _load(path: Path, device: str | torch.device) -> SequenceBundle:
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(f"model: {path} is not a readable netloupe sequence checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelLoadError(f"model: {path} is not a netloupe sequence checkpoint (format {FORMAT!r})")
    model = build_model(payload["config"])
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    model.load_state_dict(state)
    model.to(device).eval()
    vocab = Vocab(payload["vocab"]) if payload.get("vocab") else None
    return SequenceBundle(
        task=payload["task"],
        model=model,
        labels=list(payload["labels"]),
        vocab=vocab,
        slot_labels=payload.get("slot_labels"),
        metrics=dict(payload.get("metrics", {})),
        card=payload.get("card", ""),
        meta=dict(payload.get("meta", {})),
    )
