"""An ensemble of attention decoders that speaks as one: the mean of the members' log-probabilities per step.

Members are decoders trained from different seeds on the same data with the same vocabulary. At every
step each member reads its own state and proposes log p_m(w | w_<t, I); the ensemble scores the next word
with the mean over the M members,

    s(w | w_<t, I) = (1 / M) * sum_m log p_m(w | w_<t, I),

a product of experts (Hinton, 2002) that decoding (greedy or beam search) treats as a log-probability; it
is the ensembling of independently trained sequence models used by Sutskever, Vinyals & Le (2014) and
Wu et al. (2016). It is not renormalised: the argmax is that of the geometric mean of the members'
distributions, and a hypothesis the members disagree on scores lower. Teacher forcing (``forward``) gives
the same mean over whole sequences, so re-ranking and Grad-CAM work on the ensemble as on one decoder;
``forward_attention`` returns the mean of the members' attention maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import Tensor, nn

from ..errors import InputError

if TYPE_CHECKING:
    from .attention import AttentionDecoder

__all__ = ["EnsembleDecoder"]

State = tuple[Tensor, ...]


class EnsembleDecoder(nn.Module):
    """Several decoders with one vocabulary, decoded together (mean log-probability per step).

    Args:
        members: at least one decoder with ``start``/``step``/``forward_attention`` (e.g.
            :class:`~netloupe.caption.attention.AttentionDecoder`); all of the same vocabulary size and
            feature size.
    """

    def __init__(self, members: Sequence[AttentionDecoder]) -> None:
        super().__init__()
        if not members:
            raise InputError("members: expected at least one decoder, got none")
        sizes = {(m.config["vocab_size"], m.config["feature_dim"]) for m in members}
        if len(sizes) != 1:
            raise InputError(
                f"members: expected one vocabulary and feature size, got (vocab, features) {sorted(sizes)}"
            )
        self.members = nn.ModuleList(members)
        self.config: dict[str, Any] = dict(members[0].config)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def decoders(self) -> list[AttentionDecoder]:
        """The members, in order."""
        return cast("list[AttentionDecoder]", list(self.members))

    def _parts(self, state: State) -> list[State]:
        k, rest = divmod(len(state), len(self.members))
        if rest:
            raise InputError(f"state: expected a multiple of {len(self.members)} tensors, got {len(state)}")
        return [state[i * k : (i + 1) * k] for i in range(len(self.members))]

    def start(self, features: Tensor) -> State:
        """The members' start states, concatenated (every tensor batch first, so beams can re-order them)."""
        return tuple(t for m in self.decoders for t in m.start(features))

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        """Mean of the members' next-word log-probabilities (B, V), and every member's new state."""
        outs: list[Tensor] = []
        new: list[Tensor] = []
        for member, part in zip(self.decoders, self._parts(state), strict=True):
            logp, s = member.step(tokens, part)
            outs.append(logp)
            new.extend(s)
        return torch.stack(outs).mean(0), tuple(new)

    def forward_attention(self, features: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: mean log-probs (N, T, V) and mean attention weights (N, T, L) of the members."""
        pairs = [m.forward_attention(features, tokens) for m in self.decoders]
        return torch.stack([p[0] for p in pairs]).mean(0), torch.stack([p[1] for p in pairs]).mean(0)

    def forward(self, features: Tensor, tokens: Tensor) -> Tensor:
        """Mean of the members' teacher-forced log-probabilities (N, T, V)."""
        return torch.stack([m(features, tokens) for m in self.decoders]).mean(0)
