"""An encoder-decoder LSTM with Luong attention, for character-level translation (dates -> ISO dates).

Luong, Pham & Manning, "Effective Approaches to Attention-based Neural Machine Translation", EMNLP 2015:
at decoder step t with state h_t and encoder states h_s, score(h_t, h_s) = h_t^T h_s ("dot") or
h_t^T W_a h_s ("general"); a_t = softmax_s(score); context c_t = sum_s a_t(s) h_s; the attentional state
h~_t = tanh(W_c [c_t; h_t]) predicts the output and is fed to the next step ("input feeding").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import InputError

__all__ = ["DateTranslator", "luong_attention"]


def luong_attention(
    query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None = None, weight: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Luong et al. (2015) attention: weights a(s) = softmax_s(q^T W k_s) and context sum_s a(s) k_s.

    Args:
        query: (B, D) decoder states h_t.
        keys: (B, S, D) encoder states h_s (also the values).
        mask: (B, S) bool, True where a source position is real; padding gets weight 0.
        weight: (D, D) matrix W_a for the "general" score; ``None`` for the "dot" score q^T k_s.

    Returns:
        ``(weights (B, S), context (B, D))``.
    """
    proj = keys if weight is None else keys @ weight.T
    scores = torch.einsum("bd,bsd->bs", query, proj)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights, torch.einsum("bs,bsd->bd", weights, keys)


class DateTranslator(nn.Module):
    """Character embedding -> BiLSTM encoder -> LSTM decoder with Luong "general" attention and input feeding.

    ``forward`` is teacher-forced: it reads the source ids and the decoder inputs (start token then the
    previous outputs) and returns logits (B, T, V) and the attention rows (B, T, S).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, emb: int = 32, hidden: int = 64, tgt_emb: int = 16) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "src_vocab": src_vocab,
            "tgt_vocab": tgt_vocab,
            "emb": emb,
            "hidden": hidden,
            "tgt_emb": tgt_emb,
        }
        d = 2 * hidden
        self.start = tgt_vocab - 1  # the last target id is the start token
        self.src_embed = nn.Embedding(src_vocab, emb, padding_idx=0)
        self.encoder = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.tgt_embed = nn.Embedding(tgt_vocab, tgt_emb)
        self.decoder = nn.LSTMCell(tgt_emb + d, d)
        self.attn = nn.Linear(d, d, bias=False)  # W_a of the "general" score
        self.combine = nn.Linear(2 * d, d)  # W_c
        self.out = nn.Linear(d, tgt_vocab)

    def encode(
        self, emb: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Encoder states (B, S, 2H) and the decoder's initial state from the two final encoder states."""
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, c) = self.encoder(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=emb.shape[1])
        return states, (torch.cat([h[0], h[1]], -1), torch.cat([c[0], c[1]], -1))

    def forward_embedded(
        self, emb: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass from source embeddings (B, S, E): logits (B, T, V), attention (B, T, S)."""
        states, (h, c) = self.encode(emb, lengths)
        mask = torch.arange(emb.shape[1], device=emb.device)[None, :] < lengths[:, None].to(emb.device)
        feed = torch.zeros_like(h)
        logits, rows = [], []
        for t in range(tgt_in.shape[1]):
            h, c = self.decoder(torch.cat([self.tgt_embed(tgt_in[:, t]), feed], -1), (h, c))
            weights, context = luong_attention(h, states, mask, self.attn.weight)
            feed = torch.tanh(self.combine(torch.cat([context, h], -1)))
            logits.append(self.out(feed))
            rows.append(weights)
        return torch.stack(logits, 1), torch.stack(rows, 1)

    def forward(
        self, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_embedded(self.src_embed(src), lengths, tgt_in)

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, lengths: torch.Tensor, steps: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding: output ids (B, steps) and attention rows (B, steps, S).

        Ids 0 and 1 (padding, unknown) and the start token are never emitted (their logits are masked)."""
        if src.ndim != 2 or src.shape[1] == 0:
            raise InputError(f"src: expected (batch, length >= 1) ids, got shape {tuple(src.shape)}")
        tokens = torch.full((src.shape[0], 1), self.start, dtype=torch.long, device=src.device)
        for _ in range(steps):
            logits, attn = self(src, lengths, tokens)
            logits[..., [0, 1, self.start]] = float("-inf")
            tokens = torch.cat([tokens, logits[:, -1].argmax(-1, keepdim=True)], 1)
        return tokens[:, 1:], attn
