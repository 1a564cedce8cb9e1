"""Dataset readers (from a path; nothing is downloaded or copied) and the token vocabulary.

* ATIS / SNIPS in the JointBERT layout (``split/seq.in``, ``seq.out``, ``label``; Goo et al., 2018 split).
* UCI Sentiment Labelled Sentences (Kotzias et al., 2015): ``sentence<TAB>label`` files.
* UCR ECG200 (Olszewski, 2001; Dau et al., 2019): label then 96 samples per line.
* MIT-BIH record 100 (Moody & Mark, 2001) via ``wfdb``: beats cut around the reference annotations.
* scikit-learn's bundled 8x8 digits (UCI optdigits test set), read row by row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from .models import PAD_ID, UNK_ID

__all__ = [
    "ECG_LENGTH",
    "MitBihBeats",
    "SlotData",
    "Vocab",
    "digits_rows",
    "pad_batch",
    "read_ecg200",
    "read_mitbih_beats",
    "read_sentiment",
    "read_slot_split",
    "tokenize",
]

#: Samples per ECG200 beat.
ECG_LENGTH = 96
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (letters/digits, English contractions kept) plus '!' and '?'."""
    return _TOKEN.findall(text.lower())


@dataclass
class Vocab:
    """Token <-> id table; id 0 is padding and id 1 stands for every unknown (out-of-vocabulary) word."""

    tokens: list[str]

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1) -> Vocab:
        counts = Counter(t for s in sentences for t in s)
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls(["<pad>", "<unk>", *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.index.get(t, UNK_ID) for t in tokens]

    def unknown(self, tokens: Sequence[str]) -> list[str]:
        """The tokens that are out of vocabulary (they all map to ``<unk>``)."""
        return [t for t in tokens if t not in self.index]


def pad_batch(sequences: Sequence[Sequence[int]], device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Right-pad id lists with ``PAD_ID``: returns ids ``(N, T_max)`` and lengths ``(N,)``."""
    if not sequences or any(len(s) == 0 for s in sequences):
        raise InputError("sequences: every sequence needs at least one token, got an empty one")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    ids = torch.full((len(sequences), int(lengths.max())), PAD_ID, dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids.to(device), lengths.to(device)


@dataclass
class SlotData:
    """One split of a slot-filling corpus: tokens, BIO tags (aligned) and intents."""

    tokens: list[list[str]]
    tags: list[list[str]]
    intents: list[str]


def read_slot_split(folder: str | Path, split: str) -> SlotData:
    """Read ``folder/split/{seq.in, seq.out, label}`` (JointBERT layout: ATIS, SNIPS)."""
    root = Path(folder) / split
    if not (root / "seq.in").is_file():
        raise InputError(f"data: expected {root}/seq.in, seq.out and label (JointBERT layout); not found")
    words = [line.split() for line in (root / "seq.in").read_text().splitlines()]
    tags = [line.split() for line in (root / "seq.out").read_text().splitlines()]
    intents = (root / "label").read_text().splitlines()
    if not (len(words) == len(tags) == len(intents)):
        raise InputError(f"data: {root} has {len(words)} utterances, {len(tags)} tag lines, {len(intents)} labels")
    for i, (w, t) in enumerate(zip(words, tags, strict=True)):
        if len(w) != len(t):
            raise InputError(f"data: {root} line {i + 1} has {len(w)} tokens but {len(t)} tags")
    return SlotData(words, tags, intents)


def read_sentiment(folder: str | Path) -> tuple[list[str], list[int], list[str]]:
    """Read the three UCI sentiment files: sentences, labels (1 positive, 0 negative), source names."""
    sentences: list[str] = []
    labels: list[int] = []
    sources: list[str] = []
    files = sorted(Path(folder).glob("*_labelled.txt"))
    if not files:
        raise InputError(f"data: no *_labelled.txt files in {folder} (UCI Sentiment Labelled Sentences)")
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            text, _, label = line.rstrip().rpartition("\t")
            if label not in ("0", "1"):
                continue
            sentences.append(text.strip())
            labels.append(int(label))
            sources.append(path.name.split("_")[0])
    return sentences, labels, sources


def read_ecg200(folder: str | Path, split: str) -> tuple[Tensor, Tensor]:
    """ECG200 ``split`` ("TRAIN"/"TEST"): beats ``(N, 1, 96)``, labels (1 = infarction, 0 = normal)."""
    path = Path(folder) / f"ECG200_{split.upper()}.txt"
    if not path.is_file():
        raise InputError(f"data: {path} not found (expected the UCR ECG200 text files)")
    raw = np.loadtxt(path)
    x = torch.tensor(raw[:, 1:], dtype=torch.float32).unsqueeze(1)
    y = torch.tensor((raw[:, 0] == -1).astype(np.int64))  # -1 = MI in the UCR file
    return x, y


@dataclass
class MitBihBeats:
    """Beats of one MIT-BIH record, each resampled to ``length`` samples and z-normalised."""

    beats: Tensor  # (N, 1, length)
    symbols: list[str]  # annotation symbol of each beat ('N', 'A', 'V', ...)
    samples: np.ndarray  # R-peak sample index of each beat in the recording
    signal: np.ndarray  # the whole lead (mV)
    fs: float
    windows: np.ndarray  # (N, 2) start/stop sample of each beat window


def read_mitbih_beats(
    record: str | Path, lead: int = 0, before_s: float = 0.25, after_s: float = 0.4, length: int = ECG_LENGTH
) -> MitBihBeats:
    """Cut one beat per reference annotation of a WFDB record (e.g. MIT-BIH ``100``).

    Each window spans ``before_s`` seconds before to ``after_s`` after the R peak, is resampled to
    ``length`` samples (the ECG200 beat length) by linear interpolation and z-normalised, as the UCR
    beats are.
    """
    from .._optional import require

    wfdb = require("wfdb", "record: reading WFDB files")
    path = str(Path(record).with_suffix("")) if Path(record).suffix in (".hea", ".dat", ".atr") else str(record)
    if not Path(path + ".hea").is_file():
        raise InputError(f"record: {path}.hea not found (give the WFDB record path without extension)")
    rec = wfdb.rdrecord(path)
    ann = wfdb.rdann(path, "atr")
    signal = np.asarray(rec.p_signal[:, lead], dtype=np.float64)
    fs = float(rec.fs)
    lo, hi = round(before_s * fs), round(after_s * fs)
    beat_symbols = set("NLRBAaJSVrFejnE/fQ?")
    keep = [
        (s, c)
        for s, c in zip(ann.sample, ann.symbol, strict=True)
        if c in beat_symbols and s - lo >= 0 and s + hi <= len(signal)
    ]
    samples = np.array([s for s, _ in keep], dtype=np.int64)
    idx = samples[:, None] + np.arange(-lo, hi)[None, :]
    windows = signal[idx]
    grid = np.linspace(0, windows.shape[1] - 1, length)
    resampled = np.stack([np.interp(grid, np.arange(windows.shape[1]), w) for w in windows])
    resampled = (resampled - resampled.mean(1, keepdims=True)) / (resampled.std(1, keepdims=True) + 1e-8)
    return MitBihBeats(
        beats=torch.tensor(resampled, dtype=torch.float32).unsqueeze(1),
        symbols=[c for _, c in keep],
        samples=samples,
        signal=signal,
        fs=fs,
        windows=np.stack([samples - lo, samples + hi], 1),
    )


def digits_rows() -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled digits as sequences of rows: ``(1797, 8 rows, 8 pixels)`` in [0, 1], labels."""
    from .._optional import require

    d = require("sklearn.datasets", "the digits data set").load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32)
    return x, torch.tensor(d.target, dtype=torch.long)
