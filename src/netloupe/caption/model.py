"""CNN encoder + LSTM decoder captioner ("Show and Tell", Vinyals, Toshev, Bengio & Erhan, 2015).

The encoder is netloupe's default backbone (EfficientNet-Lite0, frozen); its ``bn2`` map A (N, 1280, 7, 7)
is average-pooled to f = mean_ij A_ij. The decoder starts from h_0 = tanh(W_h f), c_0 = tanh(W_c f) and, as
in LRCN (Donahue et al., 2015), also reads the projected image v = W_v f at every step:
x_t = [E w_{t-1}; v], (h_t, c_t) = LSTM(x_t, h_{t-1}, c_{t-1}), log p(w_t | w_<t, I) = log_softmax(W_o h_t).
Because the image enters through a pooled map, Grad-CAM on ``bn2`` for the target log p(w_t | w_<t, I)
shows where in the image each word came from (Selvaraju et al., 2017, Sec. 8 explains captioning this way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from .decode import Hypothesis, beam_search, greedy_decode

__all__ = ["CaptionDecoder", "Captioner", "WordScorer"]


class CaptionDecoder(nn.Module):
    """LSTM language model conditioned on a pooled image feature vector.

    Args:
        vocab_size: words including the four specials.
        feature_dim: size of the pooled encoder features (1280 for EfficientNet-Lite0).
    """

    def __init__(
        self, vocab_size: int, feature_dim: int = 1280, embed_dim: int = 128, hidden: int = 256, dropout: float = 0.3
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "vocab_size": vocab_size,
            "feature_dim": feature_dim,
            "embed_dim": embed_dim,
            "hidden": hidden,
            "dropout": dropout,
        }
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.init_h = nn.Linear(feature_dim, hidden)
        self.init_c = nn.Linear(feature_dim, hidden)
        self.project = nn.Linear(feature_dim, embed_dim)
        self.lstm = nn.LSTM(2 * embed_dim, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab_size)

    def _check(self, features: Tensor) -> None:
        if features.ndim != 2 or features.shape[1] != self.config["feature_dim"]:
            raise InputError(
                f"features: expected (N, {self.config['feature_dim']}) pooled image features, "
                f"got {tuple(features.shape)}"
            )

    def start(self, features: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Decoder state for pooled ``features`` (N, D): (h, c, v), batch first."""
        self._check(features)
        f = self.drop(features)
        return torch.tanh(self.init_h(f)), torch.tanh(self.init_c(f)), self.project(f)

    def forward(self, features: Tensor, tokens: Tensor) -> Tensor:
        """Teacher forcing: ``tokens`` (N, T) = ``<bos> w1 .. w_{T-1}`` -> log-probs (N, T, V) of the next words."""
        h, c, v = self.start(features)
        x = torch.cat([self.drop(self.embed(tokens)), v[:, None].expand(-1, tokens.shape[1], -1)], 2)
        out, _ = self.lstm(x, (h[None], c[None]))
        return F.log_softmax(self.out(self.drop(out)), -1)

    def step(self, tokens: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One word for every hypothesis: ``tokens`` (B,), state (h, c, v) -> log-probs (B, V), new state."""
        h, c, v = state
        x = torch.cat([self.embed(tokens), v], 1)[:, None]
        out, (h2, c2) = self.lstm(x, (h[None].contiguous(), c[None].contiguous()))
        return F.log_softmax(self.out(out[:, 0]), -1), (h2[0], c2[0], v)


class Captioner(nn.Module):
    """Image -> caption: a frozen timm-style CNN (``forward_features`` -> (N, C, h, w)) and a decoder."""

    def __init__(self, encoder: nn.Module, decoder: CaptionDecoder) -> None:
        super().__init__()
        self.encoder = encoder.eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.decoder = decoder

    def features(self, images: Tensor) -> Tensor:
        """Pooled encoder features (N, D) of preprocessed ``images`` (N, 3, H, W)."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise InputError(f"images: expected (N, 3, H, W) preprocessed images, got {tuple(images.shape)}")
        return self.encoder.forward_features(images).mean((2, 3))  # type: ignore[operator]

    @torch.no_grad()
    def generate(
        self,
        images: Tensor,
        bos: int,
        eos: int,
        beam: int = 1,
        max_len: int = 30,
        min_len: int = 0,
        no_repeat_ngram: int = 0,
        forbid: Sequence[int] = (),
    ) -> list[Hypothesis]:
        """Best caption per image (greedy when ``beam == 1``); ``min_len``/``no_repeat_ngram`` as in
        :mod:`netloupe.caption.decode` (no ``<eos>`` before ``min_len`` words, no repeated n-gram) and the
        word ids in ``forbid`` (e.g. ``<unk>``) never generated."""
        banned = list(forbid)

        def step(tokens: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
            logp, state = self.decoder.step(tokens, state)
            if banned:
                logp = logp.clone()
                logp[:, banned] = float("-inf")
            return logp, state

        state = self.decoder.start(self.features(images))
        if beam == 1:
            return greedy_decode(step, state, bos, eos, max_len, min_len, no_repeat_ngram)
        return [
            beam_search(
                step,
                tuple(s[i : i + 1] for s in state),
                bos,
                eos,
                beam,
                max_len,
                min_len=min_len,
                no_repeat_ngram=no_repeat_ngram,
            )[0]
            for i in range(images.shape[0])
        ]


class WordScorer(nn.Module):
    """image -> log p(w_t | w_<t, image) for fixed prefixes, so a CAM engine can explain each word.

    Row i of a batch scores word ``words[i]`` after ``prefixes[i]`` (``<bos> w1 .. w_{t-1}``, padded with 0),
    which lets one forward/backward explain every word of a caption: repeat the image once per word.
    The output is (N, V) log-probabilities at each row's position, so the target of row i is ``words[i]``.
    """

    def __init__(self, captioner: Captioner, prefixes: Tensor, lengths: Tensor) -> None:
        super().__init__()
        self.captioner = captioner
        self.prefixes: Tensor
        self.lengths: Tensor
        self.register_buffer("prefixes", prefixes.long())
        self.register_buffer("lengths", lengths.long())

    def forward(self, images: Tensor) -> Tensor:
        if images.shape[0] != self.prefixes.shape[0]:
            raise InputError(f"images: expected {self.prefixes.shape[0]} rows (one per word), got {images.shape[0]}")
        logp = self.captioner.decoder(self.captioner.features(images), self.prefixes)  # (N, T, V)
        rows = torch.arange(images.shape[0], device=images.device)
        return logp[rows, self.lengths - 1]
