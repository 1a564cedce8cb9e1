"""Gates and states of a trained model's LSTM, through the teaching cell.

The fused ``nn.LSTM`` hides its gates; :func:`lstm_states` copies the weights of one layer and direction
into :class:`~netloupe.sequence.cells.TeachingLSTM`, runs it on the same inputs and checks that it
reproduces the fused layer's outputs, so the gate values shown are the ones the model really used.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._state import eval_mode
from ..errors import InputError, MethodNotApplicable
from .cells import LSTMTrace, TeachingLSTM
from .models import FeatureLSTM, SlotTagger, TokenClassifier

__all__ = ["lstm_states"]


@torch.no_grad()
def lstm_states(model: nn.Module, inputs: Tensor, reverse: bool = False, check: bool = True) -> LSTMTrace:
    """Per-step gates, cell and hidden states of the first LSTM layer for ONE unpadded sequence.

    Args:
        model: a :class:`TokenClassifier`, :class:`SlotTagger` (``inputs`` = token ids ``(1, T)``) or
            :class:`FeatureLSTM` (``inputs`` in its own layout).
        reverse: the backward direction of a bidirectional layer (its trace is returned in input order).
        check: verify that the teaching cell reproduces the fused layer (max abs diff <= 1e-4).
    """
    rnn = getattr(model, "rnn", None)
    if not isinstance(rnn, nn.LSTM):
        raise MethodNotApplicable(f"model: gate views need an LSTM layer 'rnn', got {type(rnn).__name__}")
    if reverse and not rnn.bidirectional:
        raise InputError("reverse: the model's LSTM is not bidirectional")
    if isinstance(model, (TokenClassifier, SlotTagger)):
        x = model.embed(inputs)
    elif isinstance(model, FeatureLSTM):
        x = model.steps(inputs)
    else:
        raise MethodNotApplicable(f"model: unsupported model type {type(model).__name__} for gate views")
    if x.shape[0] != 1:
        raise InputError(f"inputs: gate views take one sequence at a time, got a batch of {x.shape[0]}")
    cell = TeachingLSTM.from_torch(rnn, layer=0, reverse=reverse)
    trace = cell(x.flip(1) if reverse else x)
    if reverse:
        trace = LSTMTrace(**{k: v.flip(1) for k, v in vars(trace).items()})
    if check:
        with eval_mode(rnn):
            fused, _ = rnn(x)
        h = rnn.hidden_size
        part = fused[..., h:] if reverse else fused[..., :h]
        if rnn.num_layers == 1 and (part - trace.hidden).abs().max() > 1e-4:
            raise RuntimeError("teaching LSTM does not reproduce the fused layer; please report this")
    return trace
