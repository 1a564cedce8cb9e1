"""Train, score and explain activity recognisers (LSTM and GAP 1-D CNN) on TUG and UCI HAR.

Inputs are z-scored per channel with training-split statistics (stored in the bundle's meta), so the
attribution baseline 0 is "the average signal". The epoch is chosen on validation data drawn from the
training side only: held-out *subjects* for TUG, a fifth of the official train windows for UCI HAR.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError, did_you_mean
from .checkpoint import SequenceBundle
from .har import TUG_CHANNELS, TUG_LABELS, UCI_CHANNELS, UCI_LABELS, read_tug, read_uci_har, split_by_subject
from .models import FeatureLSTM, SignalCNN
from .train import fit, iterate_tensors

__all__ = ["HAR_TASKS", "HarResult", "per_class_f1", "train_har"]

Log = Callable[[str], None] | None
HAR_TASKS = ("tug-lstm", "tug-cnn", "ucihar-lstm", "ucihar-cnn")


@dataclass
class HarResult:
    """A trained model, its test windows (standardised) and scores."""

    bundle: SequenceBundle
    x_test: Tensor
    y_test: Tensor
    metrics: dict[str, float]
    split: dict[str, list[str]]


def per_class_f1(y_true: Tensor, y_pred: Tensor, n_classes: int) -> Tensor:
    """F1 per class = 2 TP / (2 TP + FP + FN) (0 when the class is neither present nor predicted)."""
    f1 = torch.zeros(n_classes)
    for k in range(n_classes):
        tp = ((y_pred == k) & (y_true == k)).sum().item()
        fp = ((y_pred == k) & (y_true != k)).sum().item()
        fn = ((y_pred != k) & (y_true == k)).sum().item()
        f1[k] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0
    return f1


def _model(arch: str, channels: int, classes: int) -> torch.nn.Module:
    if arch == "cnn":
        return SignalCNN(channels, classes, dropout=0.2)
    return FeatureLSTM(channels, classes, hidden=64, bidirectional=True, pool="mean", patch=2)


def train_har(
    task: str,
    data_dir: str | Path,
    epochs: int = 0,
    seed: int = 0,
    log: Log = None,
    window: int = 100,
    stride: int = 25,
) -> HarResult:
    """Train one of ``HAR_TASKS`` and score it on its test split (TUG: held-out subjects)."""
    if task not in HAR_TASKS:
        raise InputError(f"task: expected one of {list(HAR_TASKS)}, got {task!r}{did_you_mean(task, HAR_TASKS)}")
    torch.manual_seed(seed)
    dataset, arch = task.split("-")
    if dataset == "tug":
        wins = read_tug(data_dir, window, stride)
        tr_s, va_s, te_s = split_by_subject(wins.subjects, seed=seed)
        tr, va, te = wins.select(tr_s), wins.select(va_s), wins.select(te_s)
        x_tr, y_tr, x_va, y_va, x_te, y_te = tr.x, tr.y, va.x, va.y, te.x, te.y
        labels, channels = TUG_LABELS, TUG_CHANNELS
        split = {"train": tr_s, "val": va_s, "test": te_s}
    else:
        x_all, y_all = read_uci_har(data_dir, "train")
        x_te, y_te = read_uci_har(data_dir, "test")
        # contiguous tail as validation: neighbouring rows overlap by 50 %, so a random split would leak
        cut = int(0.8 * len(x_all))
        x_tr, y_tr, x_va, y_va = x_all[:cut], y_all[:cut], x_all[cut:], y_all[cut:]
        labels, channels = UCI_LABELS, UCI_CHANNELS
        split = {
            "train": ["official train, first 80 %"],
            "val": ["official train, last 20 %"],
            "test": ["official test"],
        }
    mean, std = x_tr.mean((0, 2), keepdim=True), x_tr.std((0, 2), keepdim=True).clamp_min(1e-6)

    def norm(x: Tensor) -> Tensor:
        return (x - mean) / std

    x_tr, x_va, x_te = norm(x_tr), norm(x_va), norm(x_te)
    model = _model(arch, len(channels), len(labels))
    n_classes = len(labels)

    def steps(gen: torch.Generator) -> Iterator[Tensor]:
        for xb, yb in iterate_tensors(x_tr, y_tr, 32, True, gen):
            xb = xb * (1 + 0.1 * torch.randn(len(xb), 1, 1, generator=gen))
            yield F.cross_entropy(model(xb), yb)

    def validate() -> float:
        return float(per_class_f1(y_va, model(x_va).argmax(1), n_classes).mean())

    start = time.perf_counter()
    res = fit(model, steps, epochs or 25, lr=2e-3, seed=seed, log=log, description=task, validate=validate)
    with torch.no_grad():
        pred = model(x_te).argmax(1)
    f1 = per_class_f1(y_te, pred, n_classes)
    metrics = {
        "accuracy": 100 * float((pred == y_te).float().mean()),
        "macro_f1": 100 * float(f1.mean()),
        **{f"f1_{name}": 100 * float(v) for name, v in zip(labels, f1, strict=True)},
        "train_seconds": time.perf_counter() - start,
        "best_epoch": float(res.best_epoch),
        "test_windows": float(len(y_te)),
    }
    card = (
        f"{task}: activity recogniser trained by the user "
        + (
            "on TUG smartphone data (Matey-Sanz et al., 2023, CC BY 4.0)"
            if dataset == "tug"
            else "on UCI HAR (Anguita et al., 2013; research use only)"
        )
        + ". Inputs: (channels, samples) z-scored with the stored mean/std. Not a medical device."
    )
    meta = {
        "kind": "har",
        "channels": channels,
        "mean": mean.flatten().tolist(),
        "std": std.flatten().tolist(),
        "window": int(x_te.shape[2]),
        "best_epoch": res.best_epoch,
    }
    bundle = SequenceBundle(task, model.eval(), list(labels), metrics=metrics, card=card, meta=meta)
    return HarResult(bundle, x_te, y_te, metrics, split)
