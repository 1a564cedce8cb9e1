"""Recurrent networks as taught, trained fast, and explained over time.

* :mod:`~netloupe.sequence.cells` — Elman RNN and LSTM cells written from the lecture equations, every
  intermediate (gates, cell, hidden) observable; equal to ``torch.nn.RNN`` / ``torch.nn.LSTM``.
* :mod:`~netloupe.sequence.models` — the trainable models (fused ``nn.LSTM``/``nn.GRU``; a GAP 1-D CNN).
* :mod:`~netloupe.sequence.recipes` — one recipe per task (sentiment, ATIS, ECG200 LSTM/CNN, digits).
* :mod:`~netloupe.sequence.explain` — sentence / beat / recording in, prediction + attribution over time out.
* :mod:`~netloupe.sequence.views` — coloured tokens, attribution along an ECG, gate heatmaps.
* :mod:`~netloupe.sequence.faithfulness` — deleting top-attributed steps vs random steps.
"""

from __future__ import annotations

from .cells import ElmanRNN, ElmanTrace, LSTMTrace, TeachingLSTM
from .checkpoint import SequenceBundle, load_bundle, save_bundle
from .explain import explain_record, explain_signal, explain_text
from .faithfulness import deletion_vs_random
from .inspect import lstm_states
from .metrics import accuracy, bio_spans, slot_f1
from .models import FeatureLSTM, SignalCNN, SlotTagger, TaggerOutput, TokenClassifier
from .targets import IntentTarget, SlotTarget

__all__ = [
    "ElmanRNN",
    "ElmanTrace",
    "FeatureLSTM",
    "IntentTarget",
    "LSTMTrace",
    "SequenceBundle",
    "SignalCNN",
    "SlotTagger",
    "SlotTarget",
    "TaggerOutput",
    "TeachingLSTM",
    "TokenClassifier",
    "accuracy",
    "bio_spans",
    "deletion_vs_random",
    "explain_record",
    "explain_signal",
    "explain_text",
    "load_bundle",
    "lstm_states",
    "save_bundle",
    "slot_f1",
]
