"""Per output character: the translator's attention row and a gradient attribution over the source characters.

Both are maps (T output characters x S source characters). They are scored against the known alignment of
the date task (:mod:`netloupe.sequence.translate_data`): a map row *hits* when the source position with the
largest absolute value lies inside the source span that produces that output character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from .translate_data import TARGET_ALIGNMENT, DatePair
from .translate_model import DateTranslator
from .translate_train import TARGET_VOCAB, TranslatorBundle, batch_sources

__all__ = [
    "METHODS",
    "TranslationExplanation",
    "alignment_accuracy",
    "evaluate_alignment",
    "explain_translation",
    "token_attributions",
]

METHODS = ("gradient_x_input", "integrated_gradients")
Span = tuple[int, int] | None


def _score_grads(
    model: DateTranslator, emb: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor, out_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logit of each chosen output (B, T) and its gradient w.r.t. the source embeddings (B, T, S, E)."""
    emb = emb.detach().requires_grad_(True)
    with torch.enable_grad():
        logits, _ = model.forward_embedded(emb, lengths, tgt_in)
        chosen = logits.gather(-1, out_ids[..., None]).squeeze(-1)
        grads = [
            torch.autograd.grad(chosen[:, t].sum(), emb, retain_graph=t < chosen.shape[1] - 1)[0]
            for t in range(chosen.shape[1])
        ]
    return chosen.detach(), torch.stack(grads, 1)


def token_attributions(
    model: DateTranslator,
    src: torch.Tensor,
    lengths: torch.Tensor,
    out_ids: torch.Tensor,
    method: str = "gradient_x_input",
    steps: int = 16,
) -> torch.Tensor:
    """Attribution of each output's logit to each source position, summed over the embedding: (B, T, S).

    ``gradient_x_input``: e_s . d y_t / d e_s (Shrikumar et al. 2016, "Not Just a Black Box").
    ``integrated_gradients``: (e_s - 0) . mean_k d y_t / d e_s at e = (k - 1/2)/m * e, k = 1..m (Sundararajan,
    Taly & Yan 2017, "Axiomatic Attribution for Deep Networks"; zero-embedding baseline, midpoint rule);
    the attributions of one output sum to y_t(e) - y_t(0) up to the Riemann error.

    The decoder is fed the outputs ``out_ids`` (B, T) as its previous tokens, as when it produced them.
    """
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    was_training = model.training
    model.eval()
    try:
        emb = model.src_embed(src).detach()
        tgt_in = torch.cat([torch.full_like(out_ids[:, :1], model.start), out_ids[:, :-1]], 1)
        if method == "gradient_x_input":
            _, grads = _score_grads(model, emb, lengths, tgt_in, out_ids)
        else:
            grads = torch.zeros(*out_ids.shape, *emb.shape[1:])
            for k in range(steps):
                grads += _score_grads(model, emb * ((k + 0.5) / steps), lengths, tgt_in, out_ids)[1]
            grads /= steps
        return (grads * emb[:, None]).sum(-1)
    finally:
        model.train(was_training)


def alignment_accuracy(maps: torch.Tensor | np.ndarray, spans: Sequence[Sequence[Span]]) -> float:
    """Fraction of (sample, output) rows whose largest |value| falls inside the known source span.

    Args:
        maps: (B, T, S) attention or attribution; padding positions must be 0 (or at least not the largest).
        spans: per sample, per output position, the ``[start, end)`` source span or ``None`` (not scored).

    >>> m = torch.tensor([[[0.1, 0.7, 0.2], [0.5, 0.1, -0.9]]])
    >>> alignment_accuracy(m, [[(1, 2), (0, 2)]])
    0.5
    """
    arr = np.abs(np.asarray(maps, dtype=np.float64))
    hits, total = 0, 0
    for b, row_spans in enumerate(spans):
        for t, span in enumerate(row_spans):
            if span is None:
                continue
            s = int(arr[b, t].argmax())
            hits += span[0] <= s < span[1]
            total += 1
    if total == 0:
        raise InputError("spans: no output position has a known span")
    return hits / total


def _pair_spans(pairs: Sequence[DatePair]) -> list[list[Span]]:
    return [[p.aligned_span(t) for t in range(len(TARGET_ALIGNMENT))] for p in pairs]


def evaluate_alignment(
    bundle: TranslatorBundle, pairs: Sequence[DatePair], batch: int = 250, steps: int = 16
) -> dict[str, Any]:
    """Alignment accuracy of attention, gradient x input and integrated gradients on ``pairs``, overall and per
    field (year, month, day digits), plus the chance level (mean span length / source length)."""
    maps: dict[str, list[np.ndarray]] = {"attention": [], **{m: [] for m in METHODS}}
    for i in range(0, len(pairs), batch):
        chunk = pairs[i : i + batch]
        src, lengths = batch_sources(bundle.vocab, [p.source for p in chunk])
        out_ids, attn = bundle.model.greedy(src, lengths, steps=len(TARGET_ALIGNMENT))
        pad = src.shape[1]
        for name, m in [("attention", attn)] + [
            (meth, token_attributions(bundle.model, src, lengths, out_ids, meth, steps)) for meth in METHODS
        ]:
            full = np.zeros((len(chunk), len(TARGET_ALIGNMENT), 64))
            full[:, :, :pad] = m.detach().numpy()
            maps[name].append(full)
    spans = _pair_spans(pairs)
    result: dict[str, Any] = {"n": len(pairs)}
    for name, parts in maps.items():
        arr = np.concatenate(parts)
        result[name] = {"all": alignment_accuracy(arr, spans)}
        for field in ("year", "month", "day"):
            only = [[s if TARGET_ALIGNMENT[t] == field else None for t, s in enumerate(row)] for row in spans]
            result[name][field] = alignment_accuracy(arr, only)
    scored = [(s[1] - s[0]) / len(p.source) for p, row in zip(pairs, spans, strict=True) for s in row if s]
    result["chance"] = float(np.mean(scored))
    return result


@dataclass
class TranslationExplanation:
    """One translation with its attention rows and attributions, both (T outputs, S source characters)."""

    source: str
    output: str
    attention: np.ndarray
    attribution: np.ndarray
    method: str
    spans: list[Span] | None = None

    def plot(self) -> Any:
        """Attention (left) and |attribution| normalised per output (right); known spans outlined."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        attr = np.abs(self.attribution)
        attr = attr / np.maximum(attr.max(axis=1, keepdims=True), 1e-12)
        width = max(6.0, 0.28 * len(self.source) * 2 + 2)
        fig, axes = plt.subplots(1, 2, figsize=(width, 4.2), constrained_layout=True)
        titles = ["attention (Luong, general)", f"|{self.method.replace('_', ' ')}| (row-normalised)"]
        for ax, data, title in zip(axes, [self.attention, attr], titles, strict=True):
            ax.imshow(data, cmap="viridis", vmin=0, vmax=1, aspect="auto")
            ax.set_xticks(range(len(self.source)), list(self.source.replace(" ", "\u2423")), fontsize=8)
            ax.set_yticks(range(len(self.output)), list(self.output), fontsize=9)
            ax.set_xlabel("source character")
            ax.set_title(title, fontsize=10)
            for t, span in enumerate(self.spans or []):
                if span is not None:
                    ax.add_patch(
                        Rectangle((span[0] - 0.5, t - 0.5), span[1] - span[0], 1, fill=False, ec="red", lw=1.2)
                    )
        axes[0].set_ylabel("output character")
        fig.suptitle(f"{self.source!r} -> {self.output}" + ("  (red: known alignment)" if self.spans else ""))
        return fig


def explain_translation(
    bundle: TranslatorBundle, text: str, method: str = "gradient_x_input", pair: DatePair | None = None
) -> TranslationExplanation:
    """Translate ``text`` and explain every output character (``pair``: its known alignment, if any)."""
    text = text.strip()
    if not text or len(text) > 64:
        raise InputError(f"text: expected a date of 1-64 characters, got {len(text)} characters")
    src, lengths = batch_sources(bundle.vocab, [text])
    out_ids, attn = bundle.model.greedy(src, lengths, steps=len(TARGET_ALIGNMENT))
    attr = token_attributions(bundle.model, src, lengths, out_ids, method)
    spans = _pair_spans([pair])[0] if pair is not None else None
    return TranslationExplanation(
        text, TARGET_VOCAB.decode(out_ids[0].tolist()), attn[0].numpy(), attr[0].detach().numpy(), method, spans
    )
