"""Train an :class:`~netloupe.caption.attention.AttentionDecoder` on cached encoder maps; score and save it.

Recipe (one fixed seed): teacher forcing with cross-entropy, Adam, gradient norm clipped at 5; the epoch is
kept by greedy BLEU-4 or the teacher-forced cross-entropy on a dev split (never the test split), or, with no
dev split (the final refit on train + dev), a fixed number of epochs chosen before. Features come from
:func:`netloupe.caption.data.encode_spatial` (float16 maps of the frozen default backbone).
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
from torch import Tensor

from ..errors import InputError
from ..io.atomic import atomic_write
from .attention import AttentionCaptioner, AttentionDecoder
from .bleu import corpus_bleu
from .decode import beam_search, greedy_decode
from .ensemble import EnsembleDecoder
from .text import CaptionVocab
from .train import read_checkpoint

__all__ = [
    "FORMAT",
    "AttentionFit",
    "Decoder",
    "decode_captions",
    "fit_attention",
    "load_attention_captioner",
    "nearest_and_commonest",
    "rerank_neighbours",
    "save_attention_captioner",
    "save_decoder",
]

FORMAT = "netloupe-attention-caption/1"
Log = Callable[[str], None] | None
#: One decoder or an ensemble of them: both have ``start``/``step``/``forward``/``forward_attention``.
Decoder = AttentionDecoder | EnsembleDecoder


@dataclass
class AttentionFit:
    """The trained decoder (eval mode, best dev epoch), its vocabulary and the training history."""

    decoder: AttentionDecoder
    vocab: CaptionVocab
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


@torch.no_grad()
def decode_captions(
    decoder: Decoder,
    vocab: CaptionVocab,
    feats: Tensor,
    beam: int = 1,
    max_len: int = 30,
    batch_size: int = 64,
    min_len: int = 0,
    no_repeat_ngram: int = 0,
) -> list[list[str]]:
    """Captions (word lists) of encoder maps ``feats`` (N, D, h, w): greedy, or beam search when ``beam > 1``.

    ``min_len`` forbids ``<eos>`` before that many words and ``no_repeat_ngram = n`` any repeated n-gram
    (see :mod:`netloupe.caption.decode`); ``<unk>`` (and ``<pad>``/``<bos>``) are never generated.
    """
    decoder.eval()

    def step(tokens: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        logp, state = decoder.step(tokens, state)
        logp = logp.clone()
        logp[:, [vocab.unk_id, vocab.pad_id, vocab.bos_id]] = float("-inf")  # never generate these
        return logp, state

    out: list[list[str]] = []
    for s in range(0, feats.shape[0], batch_size):
        state = decoder.start(feats[s : s + batch_size])
        if beam == 1:
            hyps = greedy_decode(step, state, vocab.bos_id, vocab.eos_id, max_len, min_len, no_repeat_ngram)
        else:
            hyps = [
                beam_search(
                    step,
                    tuple(x[i : i + 1] for x in state),
                    vocab.bos_id,
                    vocab.eos_id,
                    beam,
                    max_len,
                    min_len=min_len,
                    no_repeat_ngram=no_repeat_ngram,
                )[0]
                for i in range(state[0].shape[0])
            ]
        out += [vocab.decode(h.tokens) for h in hyps]
    return out


def _batch(ids: list[list[int]]) -> Tensor:
    tok = torch.zeros(len(ids), max(len(x) for x in ids), dtype=torch.long)
    for k, x in enumerate(ids):
        tok[k, : len(x)] = torch.tensor(x)
    return tok


def fit_attention(
    train_feats: Tensor,
    train_captions: Sequence[Sequence[str]],
    dev_feats: Tensor | None,
    dev_references: Sequence[Sequence[Sequence[str]]] | None,
    epochs: int = 20,
    seed: int = 0,
    lr: float = 2e-3,
    batch_size: int = 32,
    min_count: int = 2,
    max_words: int = 30,
    decoder_kwargs: dict[str, Any] | None = None,
    select: str = "bleu",
    log: Log = None,
    track_bleu: bool = True,
) -> AttentionFit:
    """Train on (map, caption) pairs; keep the epoch with the best greedy dev BLEU-4 (or lowest dev loss).

    Args:
        train_feats: encoder maps (N, D, h, w) of the training images (float16 is fine).
        train_captions: one tokenised caption per training image (the teacher-forcing target).
        dev_feats: maps of the dev images; dev_references: their reference captions. ``None`` (both) trains
            exactly ``epochs`` epochs and keeps the last (a refit whose epoch count was chosen on dev before).
        min_count: vocabulary = training words seen at least this often.
        max_words: captions are cut to this many words (and decoding stops there).
        select: ``"bleu"`` keeps the epoch with the best greedy dev BLEU-4; ``"loss"`` the one with the
            lowest teacher-forced dev cross-entropy against the first reference (steadier when BLEU is near 0).
        track_bleu: with ``select="loss"``, ``False`` skips the greedy dev decoding of every epoch (its BLEU-4
            is then not in the history; it chooses nothing).
    """
    if select not in ("bleu", "loss"):
        raise InputError(f"select: expected 'bleu' or 'loss', got {select!r}")
    if (dev_feats is None) != (dev_references is None):
        raise InputError("dev_feats, dev_references: pass both (select an epoch on dev) or neither (fixed epochs)")
    if len(train_feats) != len(train_captions):
        raise InputError(f"train_captions: expected {len(train_feats)} captions, got {len(train_captions)}")
    torch.manual_seed(seed)
    vocab = CaptionVocab.build(train_captions, min_count=min_count)
    pairs: list[tuple[int, list[int]]] = []
    for i, c in enumerate(train_captions):
        try:
            pairs.append((i, vocab.encode(list(c), max_words)))
        except InputError:
            continue  # an empty or all-unknown caption teaches nothing
    decoder = AttentionDecoder(len(vocab), train_feats.shape[1], **(decoder_kwargs or {}))
    opt = torch.optim.Adam(decoder.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    best, best_epoch, best_state, history = float("-inf"), 0, None, []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        decoder.train()
        order = torch.randperm(len(pairs), generator=gen).tolist()
        total = 0.0
        for s in range(0, len(order), batch_size):
            chunk = [pairs[j] for j in order[s : s + batch_size]]
            tok = _batch([x for _, x in chunk])
            logp = decoder(train_feats[[i for i, _ in chunk]], tok[:, :-1])
            loss = F.nll_loss(logp.flatten(0, 1), tok[:, 1:].flatten(), ignore_index=vocab.pad_id)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), 5.0)
            opt.step()
            total += float(loss.detach()) * len(chunk)
        if dev_feats is None or dev_references is None:
            history.append({"epoch": epoch, "loss": total / len(pairs)})
            if log is not None:
                log(f"epoch {epoch}: loss {total / len(pairs):.3f} (no dev split: {epochs} epochs fixed)")
            best_epoch = epoch
            continue
        bleu = float("nan")
        if select == "bleu" or track_bleu:
            caps = decode_captions(decoder, vocab, dev_feats, max_len=max_words)
            bleu = corpus_bleu(caps, dev_references)["bleu4"]
        dev_loss = _dev_loss(decoder, vocab, dev_feats, dev_references, max_words, batch_size)
        score = bleu if select == "bleu" else -dev_loss
        row = {"epoch": epoch, "loss": total / len(pairs), "dev_loss": dev_loss}
        history.append(row | ({"dev_bleu4": bleu} if bleu == bleu else {}))
        if log is not None:
            log(f"epoch {epoch}: loss {total / len(pairs):.3f} dev loss {dev_loss:.3f} dev BLEU-4 {100 * bleu:.2f}")
        if score > best:
            best, best_epoch = score, epoch
            best_state = {k: v.clone() for k, v in decoder.state_dict().items()}
    if best_state is not None:
        decoder.load_state_dict(best_state)
    decoder.eval()
    return AttentionFit(decoder, vocab, best_epoch, history, time.perf_counter() - start)


@torch.no_grad()
def _dev_loss(
    decoder: Decoder,
    vocab: CaptionVocab,
    feats: Tensor,
    references: Sequence[Sequence[Sequence[str]]],
    max_words: int,
    batch_size: int,
) -> float:
    """Mean teacher-forced cross-entropy per word of each image's first reference."""
    decoder.eval()
    total, words = 0.0, 0
    rows = [(i, [vocab.bos_id, *[vocab.index.get(w, vocab.unk_id) for w in r[0]][:max_words], vocab.eos_id])
            for i, r in enumerate(references) if r and r[0]]  # fmt: skip
    for s in range(0, len(rows), batch_size):
        chunk = rows[s : s + batch_size]
        tok = _batch([x for _, x in chunk])
        logp = decoder(feats[[i for i, _ in chunk]], tok[:, :-1])
        total += float(F.nll_loss(logp.flatten(0, 1), tok[:, 1:].flatten(), ignore_index=vocab.pad_id, reduction="sum"))
        words += int((tok[:, 1:] != vocab.pad_id).sum())
    return total / max(1, words)


def nearest_and_commonest(
    train_feats: Tensor, train_captions: Sequence[Sequence[str]], test_feats: Tensor
) -> dict[str, list[list[str]]]:
    """Baselines: the caption of the nearest training image (cosine of mean-pooled maps) and the commonest one."""
    f_tr = F.normalize(train_feats.float().mean((2, 3)), dim=1)
    f_te = F.normalize(test_feats.float().mean((2, 3)), dim=1)
    nearest = [list(train_captions[j]) for j in (f_te @ f_tr.T).argmax(1).tolist()]
    commonest = Counter(" ".join(c) for c in train_captions).most_common(1)[0][0].split()
    return {"nearest-neighbour caption": nearest, "most frequent caption": [commonest for _ in range(len(test_feats))]}


@torch.no_grad()
def rerank_neighbours(
    decoder: Decoder,
    vocab: CaptionVocab,
    train_feats: Tensor,
    train_captions: Sequence[Sequence[str]],
    feats: Tensor,
    k: int = 10,
    max_words: int = 30,
) -> list[list[str]]:
    """Retrieve, then let the captioner choose: per image, the captions of its ``k`` nearest training images
    (cosine of mean-pooled maps, as the nearest-neighbour baseline) re-ranked by the decoder's mean
    log-probability per word, log p(caption | image) / (words + 1) (Devlin et al., 2015, compare
    retrieval and generation this way). ``k = 1`` is the nearest-neighbour baseline itself.
    """
    if k < 1:
        raise InputError(f"k: expected >= 1 neighbours, got {k}")
    decoder.eval()
    f_tr = F.normalize(train_feats.float().mean((2, 3)), dim=1)
    f_te = F.normalize(feats.float().mean((2, 3)), dim=1)
    nearest = (f_te @ f_tr.T).topk(min(k, len(train_captions)), dim=1).indices.tolist()
    out: list[list[str]] = []
    for i, idx in enumerate(nearest):
        cands = list(dict.fromkeys(" ".join(train_captions[j]) for j in idx if train_captions[j]))
        ids = [[vocab.bos_id, *[vocab.index.get(w, vocab.unk_id) for w in c.split()][:max_words], vocab.eos_id]
               for c in cands]  # fmt: skip
        tok = _batch(ids)
        # the image's start state once, copied per candidate; then teacher forcing step by step (= forward)
        state = tuple(x.expand(len(ids), *x.shape[1:]) for x in decoder.start(feats[i : i + 1]))
        gold = tok[:, 1:]
        total = torch.zeros(len(ids))
        for t in range(gold.shape[1]):
            logp, state = decoder.step(tok[:, t], state)
            word = logp.gather(1, gold[:, t : t + 1])[:, 0]
            total += word.masked_fill(gold[:, t] == vocab.pad_id, 0.0)
        score = total / (gold != vocab.pad_id).sum(1)
        out.append(cands[int(score.argmax())].split())
    return out


def save_attention_captioner(
    fit: AttentionFit, path: str | Path, metrics: dict[str, float], card: str, half: bool = False
) -> Path:
    """Write one fitted decoder (optionally float16), vocabulary, scores and card atomically."""
    return save_decoder(fit.decoder, fit.vocab, path, metrics, card, half)


def save_decoder(
    decoder: Decoder,
    vocab: CaptionVocab,
    path: str | Path,
    metrics: dict[str, float],
    card: str,
    half: bool = False,
    decoding: dict[str, int] | None = None,
) -> Path:
    """Write a decoder or an ensemble (``members``: one state dict per member) with its vocabulary, scores,
    card and, when given, the decoding chosen on dev (``beam``, ``min_len``, ``no_repeat_ngram``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def weights(module: torch.nn.Module) -> dict[str, Tensor]:
        return {k: (v.half() if half and v.is_floating_point() else v) for k, v in module.state_dict().items()}

    payload: dict[str, Any] = {
        "format": FORMAT,
        "config": decoder.config,
        "vocab": vocab.words,
        "metrics": metrics,
        "card": card,
    }
    if isinstance(decoder, EnsembleDecoder):
        payload["members"] = [weights(m) for m in decoder.decoders]
    else:
        payload["state_dict"] = weights(decoder)
    if decoding is not None:
        payload["decoding"] = dict(decoding)
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


@dataclass
class AttentionBundle:
    """A loadable attention captioner: full model, vocabulary, preprocessing, card, scores."""

    captioner: AttentionCaptioner
    vocab: CaptionVocab
    preprocess: Any
    card: str
    metrics: dict[str, float]
    decoding: dict[str, int] = field(default_factory=dict)


def load_attention_captioner(path: str | Path) -> AttentionBundle:
    """Rebuild default backbone + saved attention decoder (or ensemble of decoders) from a checkpoint."""
    import netloupe

    p = Path(path)
    payload = read_checkpoint(p, FORMAT, "attention captioner")

    def member(state: dict[str, Tensor]) -> AttentionDecoder:
        dec = AttentionDecoder(**payload["config"])
        dec.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        return dec.eval()

    decoder: Decoder = (
        EnsembleDecoder([member(s) for s in payload["members"]])
        if "members" in payload
        else member(payload["state_dict"])
    )
    loaded = netloupe.load_model()
    return AttentionBundle(
        AttentionCaptioner(loaded.model, decoder.eval()).eval(),  # type: ignore[arg-type]
        CaptionVocab(list(payload["vocab"])),
        loaded.preprocess,
        str(payload.get("card", "")),
        dict(payload.get("metrics", {})),
        {k: int(v) for k, v in payload.get("decoding", {}).items()},
    )
