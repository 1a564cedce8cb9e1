"""Explanations over time for trained sequence models: a sentence or a signal in, labels + attributions out.

Token models are explained on their embeddings (attribution summed over the embedding axis gives one
value per token); signals on their samples. Methods: ``integrated_gradients`` (default),
``gradient_x_input``, ``occlusion``, and for 1-D CNNs ``gradcam`` through the CAM engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor

from ..attribution import ATTRIBUTION_METHODS
from ..errors import InputError, MethodNotApplicable, UnknownMethod, did_you_mean
from ..targets import ClassTarget
from .checkpoint import SequenceBundle
from .data import MitBihBeats, read_mitbih_beats, tokenize
from .models import SignalCNN, SlotTagger
from .targets import IntentTarget, SlotTarget

__all__ = [
    "SEQUENCE_METHODS",
    "RecordExplanation",
    "SignalExplanation",
    "TextExplanation",
    "explain_record",
    "explain_signal",
    "explain_text",
    "prepare_signal",
]

SEQUENCE_METHODS = [*ATTRIBUTION_METHODS, "gradcam"]


@dataclass
class TextExplanation:
    """A sentence, the model's reading of it and one attribution per token for each explained target."""

    tokens: list[str]
    unknown: list[bool]  # out-of-vocabulary tokens (read as <unk>)
    label: str  # predicted class / intent
    probability: float
    attribution: Tensor  # (T,) for the predicted class / intent
    method: str
    slots: list[str] | None = None  # predicted BIO tag per token (taggers)
    slot_attributions: dict[int, Tensor] = field(default_factory=dict)  # position -> (T,) for its predicted tag


@dataclass
class SignalExplanation:
    """A signal (C, L), the predicted class and one attribution per sample."""

    signal: Tensor  # (C, L)
    label: str
    probability: float
    probabilities: Tensor  # (classes,)
    attribution: Tensor  # (L,)
    method: str


def _check_method(method: str, allow_cam: bool) -> None:
    if method not in SEQUENCE_METHODS:
        raise UnknownMethod(
            f"method: expected one of {SEQUENCE_METHODS}, got {method!r}{did_you_mean(method, SEQUENCE_METHODS)}"
        )
    if method == "gradcam" and not allow_cam:
        raise MethodNotApplicable(
            "method: gradcam needs a convolutional model with spatial feature maps; "
            "use integrated_gradients, gradient_x_input or occlusion for recurrent models"
        )


def _attribute(
    method: str, forward: object, inputs: Tensor, targets: object, args: tuple, time_dim: int, steps: int
) -> Tensor:
    fn = ATTRIBUTION_METHODS[method]
    kwargs: dict[str, object] = {"additional_args": args}
    if method == "integrated_gradients":
        kwargs["steps"] = steps
    if method == "occlusion":
        kwargs["time_dim"] = time_dim
    return fn(forward, inputs, targets, **kwargs).per_step(time_dim)


def explain_text(
    bundle: SequenceBundle,
    text: str,
    method: str = "integrated_gradients",
    steps: int = 32,
    slots: bool = True,
) -> TextExplanation:
    """Classify (or tag) ``text`` and attribute the prediction to its tokens.

    For a joint slot tagger the explained target is the predicted intent; with ``slots=True`` every token
    with a predicted (non-O) slot tag also gets the attribution of that tag (:class:`SlotTarget`).
    """
    _check_method(method, allow_cam=False)
    if bundle.vocab is None:
        raise InputError(f"model: {bundle.task!r} does not read text (it expects {bundle.kind} inputs)")
    tokens = tokenize(text) if bundle.task != "atis" else text.lower().split()
    if not tokens:
        raise InputError(f"text: the sentence has no words to read, got {text!r}")
    unknown = [t not in bundle.vocab.index for t in tokens]
    if all(unknown):
        raise InputError(
            f"text: no word of the sentence ({len(tokens)} tokens) is in the model's vocabulary "
            f"({len(bundle.vocab)} words), "
            f"so there is nothing to explain; got {text!r}"
        )
    model = bundle.model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([bundle.vocab.encode(tokens)], device=device)
    lengths = torch.tensor([len(tokens)], device=device)
    emb = model.embed(ids).detach()  # type: ignore[operator]
    fwd = cast(Callable[..., Any], model.forward_embedded)
    with torch.no_grad():
        out = fwd(emb, lengths)
    if isinstance(model, SlotTagger):
        probs = torch.softmax(out.intent[0], -1)
        k = int(probs.argmax())
        pred_tags = out.slots[0].argmax(-1).tolist()
        if bundle.slot_labels is None:
            raise InputError(f"model: the tagger checkpoint {bundle.task!r} lacks its slot label names")
        tag_names = [bundle.slot_labels[i] for i in pred_tags]
        targets: list[object] = [IntentTarget(k)]
        positions = [t for t, name in enumerate(tag_names) if name != "O"] if slots else []
        targets += [SlotTarget(t, pred_tags[t]) for t in positions]
        attr = _attribute(method, fwd, emb, targets, (lengths,), 1, steps)[0]  # (K, T)
        return TextExplanation(
            tokens,
            unknown,
            bundle.labels[k],
            float(probs[k]),
            attr[0].cpu(),
            method,
            slots=tag_names,
            slot_attributions={p: attr[i + 1].cpu() for i, p in enumerate(positions)},
        )
    probs = torch.softmax(out[0], -1)
    k = int(probs.argmax())
    attr = _attribute(method, fwd, emb, ClassTarget(k), (lengths,), 1, steps)[0, 0]
    return TextExplanation(tokens, unknown, bundle.labels[k], float(probs[k]), attr.cpu(), method)


def prepare_signal(signal: np.ndarray | Tensor, length: int, resample: bool = False) -> Tensor:
    """Validate one signal as ``(C, L)``: the model's length (or resampled to it) and finite values."""
    x = torch.as_tensor(np.asarray(signal, dtype=np.float32))
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.numel() == 0:
        raise InputError(f"signal: expected one signal of shape (L,) or (channels, L), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise InputError("signal: contains NaN or infinite values")
    if x.shape[-1] != length:
        if not resample:
            raise InputError(
                f"signal: the model reads beats of {length} samples, got {x.shape[-1]}; cut one beat or pass "
                "--resample (resample=True) to interpolate it to the model's length"
            )
        grid = np.linspace(0, x.shape[-1] - 1, length)
        x = torch.tensor(
            np.stack([np.interp(grid, np.arange(x.shape[-1]), row) for row in x.numpy()]), dtype=torch.float32
        )
    return (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-8)


def explain_signal(
    bundle: SequenceBundle,
    signal: np.ndarray | Tensor,
    method: str = "integrated_gradients",
    resample: bool = False,
    steps: int = 32,
) -> SignalExplanation:
    """Classify one beat (z-normalised here) and attribute the prediction to its samples."""
    model = bundle.model.eval()
    _check_method(method, allow_cam=isinstance(model, SignalCNN))
    if bundle.kind != "signal":
        raise InputError(f"model: {bundle.task!r} does not read signals (it expects {bundle.kind} inputs)")
    x = prepare_signal(signal, int(bundle.meta.get("length", 96)), resample)
    device = next(model.parameters()).device
    xb = x[None].to(device)
    with torch.no_grad():
        probs = torch.softmax(model(xb)[0], -1)
    k = int(probs.argmax())
    if method == "gradcam":
        attr = gradcam_over_time(model, xb, k)[0]
    else:
        attr = _attribute(method, model, xb, ClassTarget(k), (), -1, steps)[0, 0]
    return SignalExplanation(x, bundle.labels[k], float(probs[k]), probs.cpu(), attr.cpu(), method)


def gradcam_over_time(model: torch.nn.Module, inputs: Tensor, class_index: int | list[int]) -> Tensor:
    """Grad-CAM (Selvaraju et al., 2017) over time through the CAM engine: ``(N, L)`` maps in [0, 1]."""
    try:
        import netloupe

        result = netloupe.explain(model, inputs, methods=["gradcam"], targets=class_index)
    except (ImportError, AttributeError) as exc:
        raise MethodNotApplicable("method: gradcam needs netloupe's CAM engine, which is not available") from exc
    return result.maps["gradcam"][:, 0].detach().cpu()


@dataclass
class RecordExplanation:
    """Beats of a long recording, each classified and explained (see :func:`explain_record`)."""

    beats: MitBihBeats
    labels: list[str]  # predicted class per explained beat
    probabilities: Tensor  # (B, classes)
    attributions: Tensor  # (B, L) per beat, for its predicted class
    first: int  # index of the first explained beat in ``beats``


def explain_record(
    bundle: SequenceBundle,
    record: str | Path,
    method: str = "integrated_gradients",
    start_s: float = 0.0,
    seconds: float = 10.0,
    steps: int = 32,
) -> RecordExplanation:
    """Cut a WFDB recording (e.g. MIT-BIH record 100) into beats and explain those in a time window.

    Each beat is resampled to the model's length and z-normalised (:func:`read_mitbih_beats`), classified
    and attributed for its predicted class, in one batch.
    """
    model = bundle.model.eval()
    _check_method(method, allow_cam=isinstance(model, SignalCNN))
    if bundle.kind != "signal":
        raise InputError(f"model: {bundle.task!r} does not read signals (it expects {bundle.kind} inputs)")
    if seconds <= 0 or start_s < 0:
        raise InputError(f"start/seconds: need start >= 0 and seconds > 0, got {start_s}/{seconds}")
    beats = read_mitbih_beats(record, length=int(bundle.meta.get("length", 96)))
    t = beats.samples / beats.fs
    sel = np.nonzero((t >= start_s) & (t < start_s + seconds))[0]
    if len(sel) == 0:
        duration = len(beats.signal) / beats.fs
        raise InputError(
            f"start: no annotated beat between {start_s} s and {start_s + seconds} s "
            f"(the recording lasts {duration:.0f} s)"
        )
    device = next(model.parameters()).device
    x = beats.beats[sel].to(device)
    with torch.no_grad():
        probs = torch.softmax(model(x), -1)
    pred = probs.argmax(1)
    if method == "gradcam":
        attr = gradcam_over_time(model, x, pred.tolist())
    else:
        attr = _attribute(method, model, x, pred.tolist(), (), -1, steps)[:, 0]
    return RecordExplanation(beats, [bundle.labels[i] for i in pred.tolist()], probs.cpu(), attr.cpu(), int(sel[0]))
