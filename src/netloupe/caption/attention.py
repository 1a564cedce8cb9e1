"""Soft-attention LSTM decoder ("Show, Attend and Tell", Xu et al., 2015) over a frozen CNN's feature map.

The encoder's map A (N, D, h, w) is read as L = h*w annotation vectors a_i (a linear layer first brings
them to ``feature_dim`` -> ``project_dim``, which keeps the decoder small). At step t, with the previous
hidden state h_{t-1}:

    e_ti = w^T tanh(W_a a_i + W_h h_{t-1} + b)        (Xu et al., eq. 4, the "f_att" MLP)
    alpha_t = softmax_i(e_ti)                          (eq. 5; sums to 1 over the L cells)
    z_t = beta_t * sum_i alpha_ti a_i,  beta_t = sigmoid(W_beta h_{t-1})   (eq. 6 and the gating of 4.2.1)
    (h_t, c_t) = LSTM([E w_{t-1}; z_t], (h_{t-1}, c_{t-1}))
    log p(w_t | w_<t, I) = log_softmax(W_o dropout(h_t))

with h_0, c_0 = tanh(W mean_i a_i) (section 3.1.2). alpha_t is the decoder's own answer to "where did
word t come from"; Grad-CAM on the encoder map for the target log p(w_t | ...) is the gradient's answer.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from .model import Captioner

__all__ = ["AttentionCaptioner", "AttentionDecoder"]

State = tuple[Tensor, ...]


class AttentionDecoder(nn.Module):
    """LSTM decoder with soft attention over ``L`` feature-map cells.

    Args:
        vocab_size: words including the four specials.
        feature_dim: channels of the encoder map (1280 for EfficientNet-Lite0's ``bn2``).
        project_dim: size the annotation vectors are projected to.
        embed_dim: word embedding size.
        hidden: LSTM state size.
        attention_dim: width of the attention MLP.
        dropout: dropout on annotations and before the output layer (training only).
    """

    def __init__(
        self,
        vocab_size: int,
        feature_dim: int = 1280,
        project_dim: int = 256,
        embed_dim: int = 128,
        hidden: int = 256,
        attention_dim: int = 128,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "vocab_size": vocab_size,
            "feature_dim": feature_dim,
            "project_dim": project_dim,
            "embed_dim": embed_dim,
            "hidden": hidden,
            "attention_dim": attention_dim,
            "dropout": dropout,
        }
        self.project = nn.Linear(feature_dim, project_dim)
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.att_feat = nn.Linear(project_dim, attention_dim)
        self.att_hidden = nn.Linear(hidden, attention_dim, bias=False)
        self.att_score = nn.Linear(attention_dim, 1)
        self.gate = nn.Linear(hidden, project_dim)
        self.init_h = nn.Linear(project_dim, hidden)
        self.init_c = nn.Linear(project_dim, hidden)
        self.cell = nn.LSTMCell(embed_dim + project_dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab_size)

    def annotations(self, features: Tensor) -> Tensor:
        """Encoder maps (N, D, h, w) or cells (N, L, D) -> projected annotation vectors (N, L, P)."""
        if features.ndim == 4:
            features = features.flatten(2).transpose(1, 2)
        if features.ndim != 3 or features.shape[2] != self.config["feature_dim"]:
            raise InputError(
                f"features: expected (N, {self.config['feature_dim']}, h, w) maps or (N, L, "
                f"{self.config['feature_dim']}) cells, got {tuple(features.shape)}"
            )
        return self.project(self.drop(features.float()))

    def attend(self, a: Tensor, a_att: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """Context z (N, P) before gating and weights alpha (N, L) for annotations ``a`` and state ``h``."""
        e = self.att_score(torch.tanh(a_att + self.att_hidden(h)[:, None])).squeeze(-1)
        alpha = torch.softmax(e, dim=1)
        return (alpha[:, :, None] * a).sum(1), alpha

    def start(self, features: Tensor) -> State:
        """Initial state (h, c, a, W_a a) for encoder ``features``; batch first, so beams can re-order it."""
        a = self.annotations(features)
        mean = a.mean(1)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean)), a, self.att_feat(a)

    def _advance(self, tokens: Tensor, state: State) -> tuple[Tensor, Tensor, State]:
        h, c, a, a_att = state
        z, alpha = self.attend(a, a_att, h)
        z = torch.sigmoid(self.gate(h)) * z
        h, c = self.cell(torch.cat([self.embed(tokens), z], 1), (h, c))
        return self.out(self.drop(h)), alpha, (h, c, a, a_att)

    def forward_attention(self, features: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing on ``tokens`` (N, T) = ``<bos> w1 .. w_{T-1}``: log-probs (N, T, V), alphas (N, T, L)."""
        state = self.start(features)
        logits, alphas = [], []
        for t in range(tokens.shape[1]):
            out, alpha, state = self._advance(tokens[:, t], state)
            logits.append(out)
            alphas.append(alpha)
        return F.log_softmax(torch.stack(logits, 1), -1), torch.stack(alphas, 1)

    def forward(self, features: Tensor, tokens: Tensor) -> Tensor:
        """Log-probabilities (N, T, V) of the next words under teacher forcing."""
        return self.forward_attention(features, tokens)[0]

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        """One word for every hypothesis (the decoding interface of :mod:`netloupe.caption.decode`)."""
        out, _, state = self._advance(tokens, state)
        return F.log_softmax(out, -1), state


class AttentionCaptioner(Captioner):
    """Frozen encoder + :class:`AttentionDecoder`; ``features`` returns the whole map, not its mean."""

    decoder: AttentionDecoder  # type: ignore[assignment]

    def __init__(self, encoder: nn.Module, decoder: AttentionDecoder) -> None:
        super().__init__(encoder, decoder)  # type: ignore[arg-type]

    def features(self, images: Tensor) -> Tensor:
        """Encoder maps (N, D, h, w) of preprocessed ``images`` (N, 3, H, W)."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise InputError(f"images: expected (N, 3, H, W) preprocessed images, got {tuple(images.shape)}")
        return self.encoder.forward_features(images)  # type: ignore[operator]
