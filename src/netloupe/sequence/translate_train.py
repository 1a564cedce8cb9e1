"""Train, score, save and load the date translator (``netloupe seq train-translate``).

The checkpoint is a plain dict (``torch.load(weights_only=True)``): format, config, float16 state dict,
source characters, metrics and a card.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import InputError, ModelLoadError
from ..io.atomic import atomic_write
from .translate_data import TARGET_CHARS, CharVocab, DatePair, DateSplits, make_splits, source_vocab
from .translate_model import DateTranslator

__all__ = [
    "FORMAT",
    "SHIPPED_FILE",
    "TranslatorBundle",
    "batch_sources",
    "exact_match",
    "load_translator",
    "save_translator",
    "train_translator",
    "translate",
]

FORMAT = "netloupe-translate/1"
SHIPPED_FILE = "date_translator.pt"
TARGET_VOCAB = CharVocab(list(TARGET_CHARS))  # ids 2..12; the translator adds the start token after them


@dataclass
class TranslatorBundle:
    """A trained translator with its source vocabulary, metrics and card."""

    model: DateTranslator
    vocab: CharVocab
    metrics: dict[str, float] = field(default_factory=dict)
    card: str = ""


def batch_sources(vocab: CharVocab, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded source ids (B, S) and lengths (B,)."""
    if not texts or any(not t for t in texts):
        raise InputError("text: expected non-empty date strings")
    ids = [vocab.encode(t) for t in texts]
    lengths = torch.tensor([len(i) for i in ids])
    src = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for row, i in enumerate(ids):
        src[row, : len(i)] = torch.tensor(i)
    return src, lengths


def _targets(pairs: Sequence[DatePair], start: int) -> tuple[torch.Tensor, torch.Tensor]:
    out = torch.tensor([TARGET_VOCAB.encode(p.target) for p in pairs])
    tgt_in = torch.cat([torch.full((len(pairs), 1), start), out[:, :-1]], 1)
    return tgt_in, out


def translate(bundle: TranslatorBundle, texts: Sequence[str], batch: int = 512) -> list[str]:
    """Greedy translations of ``texts``."""
    bundle.model.eval()
    outs: list[str] = []
    for i in range(0, len(texts), batch):
        src, lengths = batch_sources(bundle.vocab, texts[i : i + batch])
        ids, _ = bundle.model.greedy(src, lengths, steps=10)
        outs += [TARGET_VOCAB.decode(row) for row in ids.tolist()]
    return outs


def exact_match(bundle: TranslatorBundle, pairs: Sequence[DatePair]) -> float:
    """Fraction of pairs translated exactly."""
    preds = translate(bundle, [p.source for p in pairs])
    return sum(p == q.target for p, q in zip(preds, pairs, strict=True)) / max(1, len(pairs))


def train_translator(
    seed: int = 0,
    epochs: int = 8,
    splits: DateSplits | None = None,
    log: Callable[[str], None] = print,
    batch: int = 128,
) -> tuple[TranslatorBundle, DateSplits]:
    """Train with Adam (lr 3e-3, cross-entropy, teacher forcing); keep the epoch best on validation."""
    torch.manual_seed(seed)
    splits = splits or make_splits(seed)
    vocab = source_vocab()
    model = DateTranslator(len(vocab), len(TARGET_VOCAB) + 1)
    bundle = TranslatorBundle(model, vocab)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = random.Random(seed)
    best, best_state = -1.0, None
    for epoch in range(epochs):
        model.train()
        order = list(range(len(splits.train)))
        rng.shuffle(order)
        start, total = time.perf_counter(), 0.0
        for i in range(0, len(order), batch):
            pairs = [splits.train[j] for j in order[i : i + batch]]
            src, lengths = batch_sources(vocab, [p.source for p in pairs])
            tgt_in, tgt_out = _targets(pairs, model.start)
            logits, _ = model(src, lengths, tgt_in)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(pairs)
        val = exact_match(bundle, splits.val)
        log(
            f"epoch {epoch + 1}: loss {total / len(order):.4f}, val exact match {val:.4f} "
            f"({time.perf_counter() - start:.0f} s)"
        )
        if val > best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    bundle.metrics["val_exact_match"] = best
    return bundle, splits


def save_translator(bundle: TranslatorBundle, path: str | Path) -> Path:
    """Write the bundle (float16 weights) atomically."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "config": bundle.model.config,
        "state_dict": {k: v.half() if v.is_floating_point() else v for k, v in bundle.model.state_dict().items()},
        "source_chars": bundle.vocab.chars[2:],
        "metrics": {k: float(v) for k, v in bundle.metrics.items()},
        "card": bundle.card,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_translator(model: str | Path = "date-translator") -> TranslatorBundle:
    """Load the shipped translator (``"date-translator"``) or a checkpoint file."""
    if str(model) == "date-translator":
        ref = resources.files("netloupe.models").joinpath(f"data/{SHIPPED_FILE}")
        if not ref.is_file():
            raise ModelLoadError(
                "model: the shipped date translator is missing; train it with netloupe seq train-translate"
            )
        with resources.as_file(ref) as p:
            return load_translator(p)
    path = Path(model)
    if not path.is_file():
        raise ModelLoadError(f"model: expected 'date-translator' or a checkpoint file, got {str(model)!r}")
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(f"model: {path} is not a readable checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelLoadError(f"model: {path} is not a {FORMAT} checkpoint")
    net = DateTranslator(**payload["config"])
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    return TranslatorBundle(net.eval(), CharVocab(payload["source_chars"]), payload["metrics"], payload["card"])
