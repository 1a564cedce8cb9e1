"""Reading one signal from a file for ``netloupe seq explain`` (.npy, .txt/.csv of numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["read_signal_file"]


def read_signal_file(path: str | Path) -> np.ndarray:
    """One signal as a float array ``(L,)`` or ``(C, L)`` from ``.npy`` or whitespace/comma separated text."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"signal: file {p} not found")
    try:
        if p.suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif p.suffix in (".txt", ".csv", ".tsv", ""):
            text = p.read_text().replace(",", " ")
            rows = [list(map(float, line.split())) for line in text.splitlines() if line.strip()]
            if len({len(r) for r in rows}) > 1:
                raise InputError(f"signal: rows of {p} have different lengths; give one signal per file")
            arr = np.asarray(rows, dtype=np.float64)
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr[:, 0]  # one value per line
        else:
            raise InputError(f"signal: expected a .npy, .txt or .csv file, got {p.suffix!r}")
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"signal: {p} does not hold numbers only ({exc})") from exc
    arr = np.squeeze(np.asarray(arr, dtype=np.float64))
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise InputError(f"signal: expected one signal (L,) or (channels, L) in {p}, got shape {arr.shape}")
    return arr
