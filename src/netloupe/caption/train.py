"""Train the captioner on cached frozen-encoder features and score it on the test split.

Recipe (one fixed seed): vocabulary = train-caption words seen >= 2 times; captions cut to 30 words;
teacher forcing with cross-entropy, Adam; the epoch is chosen by greedy BLEU-4 on the ``dev`` split; the
``test`` split (case-disjoint) is only used for the final scores.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import InputError, ModelLoadError
from ..io.atomic import atomic_write
from .bleu import corpus_bleu
from .data import CaptionRow, encode_images, read_captions
from .model import CaptionDecoder, Captioner
from .text import CaptionVocab, caption_fields, tokenize_caption

__all__ = ["CaptionBundle", "TrainedCaptioner", "field_accuracy", "load_captioner", "train_captioner"]

FORMAT = "netloupe-caption/1"
MAX_WORDS = 30
Log = Callable[[str], None] | None


@dataclass
class TrainedCaptioner:
    """The decoder, its vocabulary, the rows and cached features it was trained and scored with."""

    decoder: CaptionDecoder
    vocab: CaptionVocab
    rows: list[CaptionRow]
    features: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class CaptionBundle:
    """A loadable captioner: full image -> caption model, vocabulary, preprocessing, card."""

    captioner: Captioner
    vocab: CaptionVocab
    preprocess: Any
    card: str
    metrics: dict[str, float]


def _split(rows: list[CaptionRow], name: str) -> list[int]:
    return [i for i, r in enumerate(rows) if r.split == name]


def greedy_captions(
    decoder: CaptionDecoder, vocab: CaptionVocab, feats: torch.Tensor, beam: int = 1
) -> list[list[str]]:
    """Decode pooled features (N, D) into word lists (greedy, or beam search when ``beam > 1``)."""
    from .decode import beam_search, greedy_decode

    decoder.eval()
    state = decoder.start(feats)
    if beam == 1:
        hyps = greedy_decode(decoder.step, state, vocab.bos_id, vocab.eos_id, MAX_WORDS)
    else:
        hyps = [
            beam_search(decoder.step, tuple(s[i : i + 1] for s in state), vocab.bos_id, vocab.eos_id, beam, MAX_WORDS)[
                0
            ]
            for i in range(feats.shape[0])
        ]
    return [vocab.decode(h.tokens) for h in hyps]


def train_captioner(
    data_dir: str | Path,
    cache: str | Path = "out/caption",
    epochs: int = 25,
    seed: int = 0,
    log: Log = None,
) -> TrainedCaptioner:
    """Encode every image once (cached), then train the LSTM decoder with teacher forcing."""
    import netloupe

    torch.manual_seed(seed)
    rows = read_captions(data_dir)
    loaded = netloupe.load_model()
    feats = encode_images(loaded.model, loaded.preprocess, [r.image_file for r in rows], cache)
    train, dev = _split(rows, "train"), _split(rows, "dev")
    if not train or not dev:
        raise InputError("data: captions.csv needs 'train' and 'dev' rows")
    tokens = [tokenize_caption(r.caption) for r in rows]
    vocab = CaptionVocab.build([tokens[i] for i in train], min_count=2)
    ids: dict[int, list[int]] = {}
    for i in train:
        try:
            ids[i] = vocab.encode(tokens[i], MAX_WORDS)
        except InputError:
            continue  # an empty caption teaches nothing
    usable = sorted(ids)
    decoder = CaptionDecoder(len(vocab), feats.shape[1])
    opt = torch.optim.Adam(decoder.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    refs_dev = [[tokens[i]] for i in dev]
    best, best_state, history = -1.0, None, []
    start = time.perf_counter()
    from rich.progress import track

    for epoch in track(range(1, epochs + 1), description="captioner", transient=True, disable=log is None):
        decoder.train()
        order = torch.randperm(len(usable), generator=gen).tolist()
        total = 0.0
        for s in range(0, len(order), 32):
            batch = [usable[j] for j in order[s : s + 32]]
            length = max(len(ids[i]) for i in batch)
            tok = torch.zeros(len(batch), length, dtype=torch.long)
            for k, i in enumerate(batch):
                tok[k, : len(ids[i])] = torch.tensor(ids[i])
            logp = decoder(feats[batch], tok[:, :-1])
            loss = F.nll_loss(logp.flatten(0, 1), tok[:, 1:].flatten(), ignore_index=vocab.pad_id)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), 5.0)
            opt.step()
            total += float(loss.detach()) * len(batch)
        with torch.no_grad():
            score = corpus_bleu(greedy_captions(decoder, vocab, feats[dev]), refs_dev)["bleu4"]
        history.append({"epoch": epoch, "loss": total / len(usable), "dev_bleu4": score})
        if score > best:
            best, best_state = score, {k: v.clone() for k, v in decoder.state_dict().items()}
    if best_state is not None:
        decoder.load_state_dict(best_state)
    decoder.eval()
    if log is not None:
        kept = max(history, key=lambda h: h["dev_bleu4"])
        log(f"captioner: kept epoch {kept['epoch']}/{epochs} (dev BLEU-4 {best:.4f})")
    return TrainedCaptioner(decoder, vocab, rows, feats, history, time.perf_counter() - start)


def field_accuracy(captions: Sequence[str | list[str]], rows: list[CaptionRow]) -> dict[str, float]:
    """Share of rows whose caption names the right modality, plane and region (unnamed counts as wrong).

    Plane is scored only on rows whose metadata plane is Axial, Coronal or Sagittal. Also returns how often
    each field is named at all (``*_named``).
    """
    fields = [caption_fields(c) for c in captions]
    out: dict[str, float] = {}
    truth = {
        "modality": [r.modality for r in rows],
        "plane": [r.plane for r in rows],
        "region": [r.region for r in rows],
    }
    for key, values in truth.items():
        keep = [i for i, v in enumerate(values) if key != "plane" or v in ("Axial", "Coronal", "Sagittal")]
        out[f"{key}_acc"] = 100.0 * sum(fields[i][key] == values[i] for i in keep) / max(1, len(keep))
        out[f"{key}_named"] = 100.0 * sum(fields[i][key] is not None for i in keep) / max(1, len(keep))
    return out


def baselines(trained: TrainedCaptioner) -> dict[str, list[list[str]]]:
    """Test captions of the nearest-neighbour (cosine, pooled features) and most-frequent-caption baselines."""
    rows, feats = trained.rows, trained.features
    train, test = _split(rows, "train"), _split(rows, "test")
    f = F.normalize(feats, dim=1)
    nn_idx = (f[test] @ f[train].T).argmax(1).tolist()
    nearest = [tokenize_caption(rows[train[j]].caption) for j in nn_idx]
    commonest = Counter(" ".join(tokenize_caption(rows[i].caption)) for i in train).most_common(1)[0][0].split()
    return {"nearest-neighbour caption": nearest, "most frequent caption": [commonest for _ in test]}


def save_captioner(trained: TrainedCaptioner, path: str | Path, metrics: dict[str, float], card: str) -> Path:
    """Write decoder weights, vocabulary and card atomically (``torch.load(weights_only=True)`` loads it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "config": trained.decoder.config,
        "state_dict": trained.decoder.state_dict(),
        "vocab": trained.vocab.words,
        "metrics": metrics,
        "card": card,
    }
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def read_checkpoint(path: Path, fmt: str, what: str, hint: str = "") -> dict[str, Any]:
    """A captioner checkpoint's payload (weights only, no pickled code), checked to be of format ``fmt``.

    Raises:
        ModelLoadError: missing, unreadable, or not a checkpoint of that format.
    """
    if not path.is_file():
        raise ModelLoadError(f"model: {what} checkpoint {path} not found{hint}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(f"model: {path} is not a readable checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise ModelLoadError(f"model: {path} is not a netloupe {what} (format {fmt!r})")
    return payload


def load_captioner(path: str | Path) -> CaptionBundle:
    """Rebuild the full image -> caption model (default backbone + saved decoder) from a checkpoint."""
    import netloupe

    p = Path(path)
    payload = read_checkpoint(p, FORMAT, "captioner", "; train one with `netloupe caption-train`")
    decoder = CaptionDecoder(**payload["config"])
    decoder.load_state_dict(payload["state_dict"])
    loaded = netloupe.load_model()
    return CaptionBundle(
        Captioner(loaded.model, decoder.eval()).eval(),
        CaptionVocab(list(payload["vocab"])),
        loaded.preprocess,
        str(payload.get("card", "")),
        dict(payload.get("metrics", {})),
    )
