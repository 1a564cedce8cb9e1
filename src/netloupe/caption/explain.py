"""Explain a caption word by word with Grad-CAM, and audit how much of it falls on a burned-in watermark.

For each generated word w_t, the target is log p(w_t | w_<t, I) (Selvaraju et al., 2017, Sec. 8): the
image is repeated once per word and :class:`~netloupe.caption.model.WordScorer` returns each row's
log-probabilities at its own position, so one forward/backward through the CAM engine gives every map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..errors import InputError
from .data import load_image
from .model import Captioner, WordScorer
from .text import CaptionVocab

__all__ = [
    "CaptionExplanation",
    "energy_share",
    "explain_caption",
    "explain_words",
    "locate_watermark",
    "strip_figure",
]


@dataclass
class CaptionExplanation:
    """A caption, one Grad-CAM map per word (T, H, W) in [0, 1], each word's log-probability, the image."""

    words: list[str]
    maps: Tensor
    log_probs: Tensor
    image: Image.Image  # as the model saw it (224x224 RGB)


def explain_words(
    captioner: Captioner, image: Tensor, word_ids: list[int], bos: int, method: str = "gradcam"
) -> tuple[Tensor, Tensor]:
    """Grad-CAM maps (T, H, W) and log-probs (T,) of ``word_ids`` (the caption without ``<bos>``/``<eos>``).

    ``image`` is one preprocessed image (1, 3, H, W) or (3, H, W).
    """
    import netloupe

    if not word_ids:
        raise InputError("word_ids: the caption has no words to explain")
    x = image if image.ndim == 4 else image[None]
    t = len(word_ids)
    prefixes = torch.zeros(t, t, dtype=torch.long, device=x.device)
    full = [bos, *word_ids]
    for i in range(t):
        prefixes[i, : i + 1] = torch.tensor(full[: i + 1])
    scorer = WordScorer(captioner, prefixes, torch.arange(1, t + 1)).to(x.device)
    res = netloupe.explain(
        scorer, x.expand(t, -1, -1, -1), methods=[method], targets=list(word_ids), layer="captioner.encoder.bn2"
    )
    return res.maps[method][:, 0].detach(), res.scores[:, 0].detach()


def explain_caption(
    captioner: Captioner,
    vocab: CaptionVocab,
    preprocess: object,
    image: object,
    beam: int = 3,
    min_len: int = 0,
    no_repeat_ngram: int = 0,
    forbid: Sequence[int] = (),
) -> CaptionExplanation:
    """Caption one image (beam search; minimum length and n-gram blocking as in
    :meth:`~netloupe.caption.model.Captioner.generate`) and explain every generated word."""
    pil = load_image(image)  # type: ignore[arg-type]
    x = preprocess(pil)[None]  # type: ignore[operator]
    hyp = captioner.generate(
        x, vocab.bos_id, vocab.eos_id, beam=beam, min_len=min_len, no_repeat_ngram=no_repeat_ngram, forbid=forbid
    )[0]
    ids = [i for i in hyp.tokens if i != vocab.eos_id]
    if not ids:
        raise InputError("image: the captioner produced an empty caption; nothing to explain")
    maps, logp = explain_words(captioner, x, ids, vocab.bos_id)
    seen = preprocess.to_model_image(pil).convert("RGB")  # type: ignore[attr-defined]
    return CaptionExplanation([vocab.words[i] for i in ids], maps.cpu(), logp.cpu(), seen)


def locate_watermark(
    images: np.ndarray, band: float = 0.2, sigma: float = 4.0, threshold: float = 4.0, margin: int = 2
) -> tuple[int, int, int, int]:
    """Box (top, bottom, left, right) of a burned-in corner watermark, measured from many images.

    The images (N, H, W) are resized to the model's input size; text that sits at the same place in many
    images survives the mean, while anatomy blurs out. Pixels of the mean image whose high-pass value
    (mean - Gaussian(mean, sigma)) exceeds ``threshold`` grey levels in the top ``band`` of the right half
    are the watermark; the box is their extent plus ``margin`` pixels.
    """
    from scipy import ndimage

    if images.ndim != 3 or len(images) < 2:
        raise InputError(f"images: expected (N, H, W) grey images with N >= 2, got shape {images.shape}")
    mean = images.astype(np.float32).mean(0)
    high = mean - ndimage.gaussian_filter(mean, sigma)
    h, w = mean.shape
    mask = high > threshold
    mask[int(band * h) :] = False
    mask[:, : w // 2] = False
    if not mask.any():
        raise InputError("images: no watermark-like text found in the top-right corner")
    ys, xs = np.nonzero(mask)
    return (
        max(0, ys.min() - margin),
        min(h, ys.max() + 1 + margin),
        max(0, xs.min() - margin),
        min(w, xs.max() + 1 + margin),
    )


def energy_share(maps: Tensor, box: tuple[int, int, int, int]) -> Tensor:
    """Share of each map's total (non-negative) energy inside ``box``: sum_box M / sum M, per map (..., H, W).

    Computed by :func:`netloupe.evaluation.energy.energy_share`; a map with no energy counts as 0 (not NaN).
    """
    from ..evaluation.energy import box_mask
    from ..evaluation.energy import energy_share as _share

    top, bottom, left, right = box
    mask = box_mask(tuple(maps.shape[-2:]), [(left, top, right, bottom)])[0]
    return torch.nan_to_num(_share(maps, mask, spatial=2), nan=0.0)


def strip_figure(expl: CaptionExplanation, per_row: int = 8, box: tuple[int, int, int, int] | None = None) -> object:
    """A matplotlib figure: the image, then word + overlay for every word (optionally the watermark box)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from ..viz.overlay import overlay

    n = len(expl.words) + 1
    cols = min(per_row, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 1.95 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(expl.image)
    axes[0, 0].set_title("image", fontsize=8)
    for k, (word, m) in enumerate(zip(expl.words, expl.maps, strict=True), start=1):
        ax = axes[k // cols, k % cols]
        ax.imshow(overlay(expl.image, m.numpy()))
        ax.set_title(f"{word}  ({float(expl.log_probs[k - 1].exp()):.2f})", fontsize=8)
        if box is not None:
            top, bottom, left, right = box
            ax.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, ec="white", lw=0.8, ls="--"))
    fig.tight_layout()
    return fig
