"""Wearable-sensor activity recognition data: TUG smartphone recordings and UCI HAR windows.

* TUG (Matey-Sanz, Casteleyn & Granell, 2023; CC BY 4.0): per-sample labels at ~100 Hz. Recordings are cut
  into windows of ``window`` samples every ``stride`` samples by sample count (timestamps are irregular);
  a window's label is the majority of its per-sample labels (ties: the label at the window's centre).
* UCI HAR (Anguita et al., 2013; research use): fixed 128-step windows of 9 signals at 50 Hz, official
  train/test split (its subjects are disjoint).
* Splits by subject: no subject's windows are in two splits.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError

__all__ = [
    "TUG_CHANNELS",
    "TUG_LABELS",
    "UCI_CHANNELS",
    "UCI_LABELS",
    "Recording",
    "Windows",
    "read_tug",
    "read_tug_recording",
    "read_uci_har",
    "split_by_subject",
    "window_recording",
]

TUG_CHANNELS = ["x_acc", "y_acc", "z_acc", "x_gyro", "y_gyro", "z_gyro"]
TUG_LABELS = ["SEATED", "STANDING_UP", "WALKING", "TURNING", "SITTING_DOWN"]
UCI_CHANNELS = [f"{kind}_{axis}" for kind in ("body_acc", "body_gyro", "total_acc") for axis in "xyz"]
UCI_LABELS = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]


@dataclass
class Recording:
    """One sensor recording: signals (C, T), per-sample label ids (T,), subject, sampling rate (Hz)."""

    signals: np.ndarray
    labels: np.ndarray
    subject: str
    rate_hz: float


@dataclass
class Windows:
    """Windows (N, C, L) with labels (N,) and the subject of each window."""

    x: Tensor
    y: Tensor
    subjects: list[str]

    def select(self, subjects: Sequence[str]) -> Windows:
        keep = set(subjects)
        idx = [i for i, s in enumerate(self.subjects) if s in keep]
        return Windows(self.x[idx], self.y[idx], [self.subjects[i] for i in idx])


def read_tug_recording(
    path: str | Path, expected_hz: float = 100.0, tolerance: float = 0.25, subject: str | None = None
) -> Recording:
    """Read one ``sXX_YY_sp.csv(.gz)`` file; checks the columns, labels and the sampling rate.

    Raises:
        InputError: missing columns, unknown labels, too few rows, or a rate outside
            ``expected_hz * (1 ± tolerance)`` (estimated as (rows - 1) / duration).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"path: sensor file {p} not found")
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt") as fh:
        header = fh.readline().strip().split(",")
        need = [*TUG_CHANNELS, "timestamp", "label"]
        missing = [c for c in need if c not in header]
        if missing:
            raise InputError(f"{p.name}: missing columns {missing}; expected {need}, got {header}")
        cols = [header.index(c) for c in need]
        rows = [line.rstrip("\n").split(",") for line in fh if line.strip()]
    if len(rows) < 2:
        raise InputError(f"{p.name}: expected at least 2 samples, got {len(rows)}")
    try:
        values = np.array([[float(r[c]) for c in cols[:7]] for r in rows], dtype=np.float64)
    except (ValueError, IndexError) as exc:
        raise InputError(f"{p.name}: non-numeric or short row ({exc})") from exc
    names = [r[cols[7]] for r in rows]
    unknown = sorted(set(names) - set(TUG_LABELS))
    if unknown:
        raise InputError(f"{p.name}: unknown labels {unknown}; expected {TUG_LABELS}")
    duration_s = (values[-1, 6] - values[0, 6]) / 1000.0
    rate = (len(rows) - 1) / duration_s if duration_s > 0 else float("inf")
    if not (expected_hz * (1 - tolerance) <= rate <= expected_hz * (1 + tolerance)):
        raise InputError(
            f"{p.name}: sampling rate {rate:.1f} Hz, expected {expected_hz:g} Hz ± {100 * tolerance:.0f}% "
            "(resample the recording first)"
        )
    labels = np.array([TUG_LABELS.index(n) for n in names])
    return Recording(values[:, :6].T.astype(np.float32), labels, subject or p.name.split("_")[0], rate)


def window_recording(rec: Recording, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows (N, C, window) every ``stride`` samples and their majority labels (N,).

    A recording shorter than ``window`` gives zero windows; a trailing part shorter than ``window`` is
    dropped (no padding).
    """
    if window < 1 or stride < 1:
        raise InputError(f"window/stride: must be >= 1, got window={window}, stride={stride}")
    c, t = rec.signals.shape
    if t < window:
        return np.zeros((0, c, window), np.float32), np.zeros((0,), np.int64)
    starts = np.arange(0, t - window + 1, stride)
    idx = starts[:, None] + np.arange(window)[None]
    x = rec.signals[:, idx].transpose(1, 0, 2)  # (N, C, L)
    lab = rec.labels[idx]  # (N, L)
    n_classes = int(rec.labels.max()) + 1
    counts = np.stack([(lab == k).sum(1) for k in range(n_classes)], 1)
    best = counts.max(1, keepdims=True)
    centre = lab[:, window // 2]
    tie = (counts == best).sum(1) > 1
    y = np.where(tie & (counts[np.arange(len(lab)), centre] == best[:, 0]), centre, counts.argmax(1))
    return x.astype(np.float32), y.astype(np.int64)


def read_tug(root: str | Path, window: int = 100, stride: int = 25) -> Windows:
    """Every recording under ``root/sXX/`` windowed (default 1 s windows every 0.25 s at 100 Hz)."""
    files = sorted(Path(root).glob("s*/s*_sp.csv*"))
    if not files:
        raise InputError(f"data: no s*/s*_sp.csv(.gz) files under {root} (the tug-har-smartphone-subset folder)")
    xs, ys, subjects = [], [], []
    for f in files:
        rec = read_tug_recording(f)
        x, y = window_recording(rec, window, stride)
        xs.append(x)
        ys.append(y)
        subjects += [rec.subject] * len(y)
    return Windows(torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)), subjects)


def split_by_subject(
    subjects: Sequence[str], fractions: tuple[float, float, float] = (0.65, 0.15, 0.2), seed: int = 0
) -> tuple[list[str], list[str], list[str]]:
    """Subject ids shuffled (seeded) and cut into train/val/test groups; every group non-empty, disjoint."""
    unique = sorted(set(subjects))
    if len(unique) < 3:
        raise InputError(f"subjects: need at least 3 distinct subjects to split three ways, got {len(unique)}")
    if any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise InputError(f"fractions: expected three positive numbers summing to 1, got {fractions}")
    order = [unique[i] for i in np.random.default_rng(seed).permutation(len(unique))]
    n_test = max(1, round(fractions[2] * len(unique)))
    n_val = max(1, round(fractions[1] * len(unique)))
    n_val = min(n_val, len(unique) - n_test - 1)
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return sorted(train), sorted(val), sorted(test)


def read_uci_har(root: str | Path, split: str) -> tuple[Tensor, Tensor]:
    """UCI HAR raw inertial windows (N, 9, 128) in ``UCI_CHANNELS`` order and labels 0..5."""
    if split not in ("train", "test"):
        raise InputError(f"split: expected 'train' or 'test', got {split!r}")
    base = Path(root) / split
    if not (base / f"y_{split}.txt").is_file():
        raise InputError(f"data: {base / f'y_{split}.txt'} not found (the uci-har-subset folder)")
    signals = []
    for name in UCI_CHANNELS:
        f = base / "Inertial Signals" / f"{name}_{split}.txt.gz"
        if not f.is_file():
            f = f.with_suffix("")
        if not f.is_file():
            raise InputError(f"data: missing signal file {name}_{split}.txt(.gz) in {base / 'Inertial Signals'}")
        signals.append(np.loadtxt(f, dtype=np.float32))
    x = np.stack(signals, 1)
    y = np.loadtxt(base / f"y_{split}.txt", dtype=np.int64) - 1
    if x.shape[0] != y.shape[0] or x.shape[2] != 128:
        raise InputError(f"data: signals {x.shape} and labels {y.shape} do not match (N, 9, 128)")
    return torch.from_numpy(x), torch.from_numpy(y)
