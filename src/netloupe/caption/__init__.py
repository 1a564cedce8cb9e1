"""Image captioning explained word by word: CNN encoder + LSTM decoder, BLEU, per-word Grad-CAM, watermark audit.

* :mod:`~netloupe.caption.text` — tokens, vocabulary, modality/plane/region read from a caption.
* :mod:`~netloupe.caption.bleu` — corpus BLEU-1..4 with brevity penalty (Papineni et al., 2002).
* :mod:`~netloupe.caption.decode` — greedy and beam-search decoding of any one-step language model, with a
  minimum length and repeated n-gram blocking.
* :mod:`~netloupe.caption.attention` / :mod:`~netloupe.caption.ensemble` — the Show-Attend-Tell decoder and a
  seed ensemble of them (mean log-probability per step).
* :mod:`~netloupe.caption.attention_eval` / :mod:`~netloupe.caption.medpix` — the attention captioner's runs of
  record: synthetic shapes (pointing game per word) and MedPix (ensemble size and decoding chosen on dev).
* :mod:`~netloupe.caption.model` — the decoder, the full captioner and the per-word scorer for Grad-CAM.
* :mod:`~netloupe.caption.train` / :mod:`~netloupe.caption.evaluate` — the seeded recipe and its scores.
* :mod:`~netloupe.caption.explain` — per-word Grad-CAM strips and the watermark energy share.
"""

from __future__ import annotations

from .bleu import corpus_bleu
from .decode import Hypothesis, beam_search, greedy_decode
from .explain import CaptionExplanation, energy_share, explain_caption, explain_words, locate_watermark, strip_figure
from .model import CaptionDecoder, Captioner, WordScorer
from .text import CaptionVocab, caption_fields, tokenize_caption
from .train import load_captioner, train_captioner

__all__ = [
    "CaptionDecoder",
    "CaptionExplanation",
    "CaptionVocab",
    "Captioner",
    "Hypothesis",
    "WordScorer",
    "beam_search",
    "caption_fields",
    "corpus_bleu",
    "energy_share",
    "explain_caption",
    "explain_words",
    "greedy_decode",
    "load_captioner",
    "locate_watermark",
    "strip_figure",
    "tokenize_caption",
    "train_captioner",
]
