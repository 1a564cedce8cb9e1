"""Sequence models trained with torch's fused recurrent layers (cuDNN on GPU).

* :class:`TokenClassifier` — many-to-one over token ids (sentiment): embedding -> (Bi)LSTM -> pool -> linear.
* :class:`SlotTagger` — many-to-many plus one (slot filling + intent, as in Hakkani-Tür et al., 2016,
  "Multi-domain joint semantic frame parsing using bi-directional RNN-LSTM"): a BiLSTM whose every
  step is tagged, and whose max-pooled states predict the utterance's intent.
* :class:`FeatureLSTM` — many-to-one over real-valued steps: ECG beats ``(N, 1, L)`` (channels first)
  or digit images read row by row ``(N, rows, cols)``.
* :class:`LSTMFCN` — an LSTM branch and a fully convolutional branch read the same signal side by side
  and their pooled features are concatenated before one linear layer (Karim, Majumdar, Darabi & Chen,
  2018, "LSTM fully convolutional networks for time series classification").
* :class:`SignalCNN` — a 1-D fully convolutional network with global average pooling and one linear
  layer (Wang, Yan & Oates, 2017, "Time series classification from scratch with deep neural networks"),
  so that CAM and Grad-CAM over time apply.

Token models split ``forward`` into :meth:`embed` and :meth:`forward_embedded` so that attribution
methods can differentiate with respect to the embeddings. Every model records its constructor
arguments in ``config`` and is rebuilt with :func:`build_model`.
"""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import InputError, ModelLoadError

__all__ = [
    "LSTMFCN",
    "PAD_ID",
    "UNK_ID",
    "FeatureLSTM",
    "SignalCNN",
    "SlotTagger",
    "TaggerOutput",
    "TokenClassifier",
    "build_model",
    "lengths_to_mask",
    "run_rnn",
]

PAD_ID = 0
UNK_ID = 1


class TaggerOutput(NamedTuple):
    """Outputs of :class:`SlotTagger`: per-token slot logits and per-utterance intent logits."""

    slots: Tensor  # (N, T, n_slots)
    intent: Tensor  # (N, n_intents)


def lengths_to_mask(lengths: Tensor, steps: int) -> Tensor:
    """``(N, T)`` boolean mask, True on the first ``lengths[n]`` steps."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def run_rnn(rnn: nn.RNNBase, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
    """Run a batch-first fused RNN over padded ``x`` (N, T, D); returns outputs (N, T, H*dirs) and h_n.

    With ``lengths`` the batch is packed, so padding never enters the recurrence (outputs there are 0).
    """
    if lengths is None:
        out, h = rnn(x)
    else:
        packed = pack_padded_sequence(x, lengths.detach().cpu().clamp(min=1), batch_first=True, enforce_sorted=False)
        out, h = rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    h_n = h[0] if isinstance(h, tuple) else h
    return out, h_n


def _pool(out: Tensor, h_n: Tensor, mask: Tensor | None, pool: str, bidirectional: bool) -> Tensor:
    if pool == "last":
        return torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
    if mask is None:
        return out.max(1).values if pool == "max" else out.mean(1)
    m = mask.unsqueeze(-1)
    if pool == "max":
        return out.masked_fill(~m, float("-inf")).max(1).values
    return (out * m).sum(1) / m.sum(1).clamp(min=1)


def _make_rnn(kind: str, input_size: int, hidden: int, layers: int, bidirectional: bool, dropout: float) -> nn.RNNBase:
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(kind)
    if cls is None:
        raise InputError(f"rnn: expected 'lstm' or 'gru', got {kind!r}")
    return cls(
        input_size,
        hidden,
        num_layers=layers,
        batch_first=True,
        bidirectional=bidirectional,
        dropout=dropout if layers > 1 else 0.0,
    )


class _Configured(nn.Module):
    config: dict[str, Any]

    def _store(self, **kwargs: Any) -> None:
        self.config = {"class": type(self).__name__, **kwargs}


_Out = TypeVar("_Out")


class _TokenModel(_Configured, Generic[_Out]):
    """Token ids -> embedding -> (dropout) -> fused RNN; subclasses add the heads in ``forward_embedded``."""

    def _build_encoder(
        self, vocab_size: int, embed_dim: int, hidden: int, layers: int, bidirectional: bool, dropout: float, rnn: str
    ) -> None:
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        self.rnn = _make_rnn(rnn, embed_dim, hidden, layers, bidirectional, dropout)

    def embed(self, tokens: Tensor) -> Tensor:
        """Token ids (N, T) -> embeddings (N, T, E)."""
        return self.embedding(tokens)

    def forward_embedded(self, embedded: Tensor, lengths: Tensor | None = None) -> _Out:
        raise NotImplementedError

    def forward(self, tokens: Tensor, lengths: Tensor | None = None) -> _Out:
        if lengths is None:
            lengths = (tokens != PAD_ID).sum(1)
        return self.forward_embedded(self.embed(tokens), lengths)


class TokenClassifier(_TokenModel[Tensor]):
    """Many-to-one text classifier: embedding -> (Bi)LSTM/GRU -> max/mean/last pooling -> linear."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 64,
        hidden: int = 64,
        layers: int = 1,
        bidirectional: bool = True,
        pool: str = "max",
        dropout: float = 0.3,
        rnn: str = "lstm",
    ) -> None:
        super().__init__()
        self._store(
            vocab_size=vocab_size,
            num_classes=num_classes,
            embed_dim=embed_dim,
            hidden=hidden,
            layers=layers,
            bidirectional=bidirectional,
            pool=pool,
            dropout=dropout,
            rnn=rnn,
        )
        if pool not in ("max", "mean", "last"):
            raise InputError(f"pool: expected 'max', 'mean' or 'last', got {pool!r}")
        self.pool, self.bidirectional = pool, bidirectional
        self._build_encoder(vocab_size, embed_dim, hidden, layers, bidirectional, dropout, rnn)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward_embedded(self, embedded: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits (N, C) from embeddings (N, T, E) and true lengths (N,)."""
        mask = None if lengths is None else lengths_to_mask(lengths, embedded.shape[1])
        out, h_n = run_rnn(self.rnn, self.dropout(embedded), lengths)
        return self.fc(self.dropout(_pool(out, h_n, mask, self.pool, self.bidirectional)))


class SlotTagger(_TokenModel[TaggerOutput]):
    """Joint slot tagger and intent classifier: embedding -> BiLSTM -> per-step tags + pooled intent."""

    def __init__(
        self,
        vocab_size: int,
        num_slots: int,
        num_intents: int,
        embed_dim: int = 100,
        hidden: int = 128,
        layers: int = 1,
        dropout: float = 0.3,
        rnn: str = "lstm",
    ) -> None:
        super().__init__()
        self._store(
            vocab_size=vocab_size,
            num_slots=num_slots,
            num_intents=num_intents,
            embed_dim=embed_dim,
            hidden=hidden,
            layers=layers,
            dropout=dropout,
            rnn=rnn,
        )
        self._build_encoder(vocab_size, embed_dim, hidden, layers, True, dropout, rnn)
        self.slot_head = nn.Linear(2 * hidden, num_slots)
        self.intent_head = nn.Linear(2 * hidden, num_intents)

    def forward_embedded(self, embedded: Tensor, lengths: Tensor | None = None) -> TaggerOutput:
        mask = None if lengths is None else lengths_to_mask(lengths, embedded.shape[1])
        out, h_n = run_rnn(self.rnn, self.dropout(embedded), lengths)
        out = self.dropout(out)
        return TaggerOutput(self.slot_head(out), self.intent_head(_pool(out, h_n, mask, "max", True)))


class FeatureLSTM(_Configured):
    """Many-to-one classifier of real-valued sequences (ECG beats, image rows).

    Args:
        input_size: features per step (1 for a single-lead ECG, 8 for an 8x8 digit read row by row).
        channels_first: inputs are ``(N, C, L)`` (signals, as for CNNs) rather than ``(N, T, D)``.
        patch: consecutive steps fed to the LSTM together (a length-96 beat with ``patch=4`` is read as
            24 steps of 4 samples); attributions stay per input sample.
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        hidden: int = 64,
        layers: int = 1,
        bidirectional: bool = False,
        pool: str = "last",
        dropout: float = 0.0,
        channels_first: bool = True,
        rnn: str = "lstm",
        patch: int = 1,
    ) -> None:
        super().__init__()
        self._store(
            input_size=input_size,
            num_classes=num_classes,
            hidden=hidden,
            layers=layers,
            bidirectional=bidirectional,
            pool=pool,
            dropout=dropout,
            channels_first=channels_first,
            rnn=rnn,
            patch=patch,
        )
        self.input_size, self.channels_first, self.patch = input_size, channels_first, patch
        self.pool, self.bidirectional = pool, bidirectional
        self.rnn = _make_rnn(rnn, input_size * patch, hidden, layers, bidirectional, dropout)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def steps(self, inputs: Tensor) -> Tensor:
        """The inputs as batch-first steps (N, T, D)."""
        x = inputs.transpose(1, 2) if self.channels_first else inputs
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            layout = "(N, C, L)" if self.channels_first else "(N, T, D)"
            raise InputError(
                f"inputs: expected {layout} with {self.input_size} features per step, got {tuple(inputs.shape)}"
            )
        if self.patch > 1:
            if x.shape[1] % self.patch:
                raise InputError(f"inputs: length must be a multiple of patch={self.patch}, got {x.shape[1]}")
            x = x.reshape(x.shape[0], x.shape[1] // self.patch, self.patch * self.input_size)
        return x

    def forward(self, inputs: Tensor, lengths: Tensor | None = None) -> Tensor:
        x = self.steps(inputs)
        mask = None if lengths is None else lengths_to_mask(lengths, x.shape[1])
        out, h_n = run_rnn(self.rnn, x, lengths)
        return self.fc(self.dropout(_pool(out, h_n, mask, self.pool, self.bidirectional)))


class SignalCNN(_Configured):
    """1-D fully convolutional network (Wang et al., 2017): conv-BN-ReLU blocks, GAP, one linear layer."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: tuple[int, ...] = (32, 64, 64),
        kernels: tuple[int, ...] = (7, 5, 3),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self._store(
            in_channels=in_channels,
            num_classes=num_classes,
            channels=list(channels),
            kernels=list(kernels),
            dropout=dropout,
        )
        blocks: list[nn.Module] = []
        c_in = in_channels
        for c, k in zip(channels, kernels, strict=True):
            blocks += [nn.Conv1d(c_in, c, k, padding=k // 2), nn.BatchNorm1d(c), nn.ReLU()]
            c_in = c
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, inputs: Tensor) -> Tensor:
        if inputs.ndim != 3:
            raise InputError(f"inputs: expected (N, C, L) signals, got {tuple(inputs.shape)}")
        return self.fc(self.dropout(self.pool(self.features(inputs)).flatten(1)))


class LSTMFCN(_Configured):
    """LSTM-FCN (Karim et al., 2018): ``fc([dropout(LSTM last state); GAP(FCN(x))])``.

    The FCN branch is three conv-BN-ReLU blocks (128/256/128 channels, kernels 8/5/3, "same" padding;
    Wang et al., 2017). The LSTM branch reads the signal ``(N, C, L)`` as ``L / patch`` steps of
    ``C * patch`` samples; ``patch = L`` is the paper's "dimension shuffle" (one step of L features),
    smaller patches keep a real recurrence over time. The conv branch is ``features`` (so Grad-CAM over
    time applies to it) and the LSTM's last state enters the same linear layer ``fc``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        hidden: int = 32,
        patch: int = 8,
        channels: tuple[int, ...] = (128, 256, 128),
        kernels: tuple[int, ...] = (8, 5, 3),
        lstm_dropout: float = 0.8,
    ) -> None:
        super().__init__()
        self._store(
            in_channels=in_channels,
            num_classes=num_classes,
            hidden=hidden,
            patch=patch,
            channels=list(channels),
            kernels=list(kernels),
            lstm_dropout=lstm_dropout,
        )
        self.in_channels, self.patch = in_channels, patch
        self.rnn = nn.LSTM(in_channels * patch, hidden, batch_first=True)
        self.lstm_dropout = nn.Dropout(lstm_dropout)
        blocks: list[nn.Module] = []
        c_in = in_channels
        for c, k in zip(channels, kernels, strict=True):
            blocks += [nn.Conv1d(c_in, c, k, padding="same"), nn.BatchNorm1d(c), nn.ReLU()]
            c_in = c
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(hidden + c_in, num_classes)

    def steps(self, inputs: Tensor) -> Tensor:
        """The LSTM branch's input: ``(N, L / patch, C * patch)`` (consecutive samples of all channels)."""
        if inputs.ndim != 3 or inputs.shape[1] != self.in_channels:
            raise InputError(f"inputs: expected (N, {self.in_channels}, L) signals, got {tuple(inputs.shape)}")
        n, c, length = inputs.shape
        if length % self.patch:
            raise InputError(f"inputs: length must be a multiple of patch={self.patch}, got {length}")
        return inputs.transpose(1, 2).reshape(n, length // self.patch, self.patch * c)

    def forward(self, inputs: Tensor) -> Tensor:
        _, (h_n, _) = self.rnn(self.steps(inputs))
        conv = self.pool(self.features(inputs)).flatten(1)
        return self.fc(torch.cat([self.lstm_dropout(h_n[-1]), conv], 1))


_CLASSES: dict[str, type[_Configured]] = {
    c.__name__: c for c in (TokenClassifier, SlotTagger, FeatureLSTM, SignalCNN, LSTMFCN)
}


def build_model(config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from its ``config`` (as stored in a checkpoint)."""
    cfg = dict(config)
    name = cfg.pop("class", None)
    if name not in _CLASSES:
        raise ModelLoadError(f"config: unknown sequence model class {name!r}; known: {sorted(_CLASSES)}")
    for key in ("channels", "kernels"):
        if key in cfg:
            cfg[key] = tuple(cfg[key])
    return _CLASSES[name](**cfg)
