"""Grey-level display transforms of medical images: window centre/width, VOI LUTs, presets.

The formulas are those of the DICOM standard, PS3.3 section C.11.2.1.2 ("Window Center and Window
Width"), mapping stored values ``x`` (after the modality rescale) to display values in [0, 1]:

* ``LINEAR`` (default): ``x <= c - 0.5 - (w - 1) / 2 -> 0``; ``x > c - 0.5 + (w - 1) / 2 -> 1``;
  else ``((x - (c - 0.5)) / (w - 1) + 0.5)``.
* ``LINEAR_EXACT``: ``x <= c - w / 2 -> 0``; ``x > c + w / 2 -> 1``; else ``(x - c) / w + 0.5``.
* ``SIGMOID``: ``1 / (1 + exp(-4 (x - c) / w))``.

Named CT presets (centre, width in Hounsfield units) follow the common radiology settings listed
by Radiopaedia, "Windowing (CT)" (Murphy et al.): lung (-600, 1500), mediastinum (50, 350),
bone (400, 1800), brain (40, 80), soft tissue (50, 400).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, did_you_mean

__all__ = [
    "WINDOW_PRESETS",
    "Window",
    "apply_voi_lut",
    "apply_window",
    "parse_window",
    "robust_range",
]

#: name -> (centre, width) in Hounsfield units.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "soft-tissue": (50.0, 400.0),
}

_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True)
class Window:
    """A display window: centre ``c`` and width ``w`` (stored units after rescale) and its function."""

    center: float
    width: float
    function: str = "LINEAR"
    name: str = ""

    def __post_init__(self) -> None:
        if self.function not in _FUNCTIONS:
            raise InputError(f"window function: expected one of {list(_FUNCTIONS)}, got {self.function!r}")
        if (self.function == "LINEAR" and self.width < 1) or not self.width > 0:
            raise InputError(f"window width: must be >= 1 (LINEAR) or > 0 (other functions), got {self.width}")


def parse_window(spec: str | Sequence[float] | Window | None) -> Window | None:
    """``"lung"`` / ``"40,80"`` / ``(40, 80)`` / :class:`Window` / None -> a Window (or None: use the file's)."""
    if spec is None or isinstance(spec, Window):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower().replace("_", "-").replace(" ", "-")
        if key in ("soft", "softtissue"):
            key = "soft-tissue"
        if key in WINDOW_PRESETS:
            c, w = WINDOW_PRESETS[key]
            return Window(c, w, name=key)
        parts = [p for p in spec.replace(":", ",").split(",") if p.strip()]
        if len(parts) == 2:
            try:
                return Window(float(parts[0]), float(parts[1]), name="custom")
            except ValueError:
                pass
        raise InputError(
            f"window: expected a preset ({', '.join(WINDOW_PRESETS)}) or 'CENTER,WIDTH', got {spec!r}"
            f"{did_you_mean(key, list(WINDOW_PRESETS))}"
        )
    values = list(spec)
    if len(values) != 2:
        raise InputError(f"window: expected (center, width), got {values!r}")
    return Window(float(values[0]), float(values[1]), name="custom")


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Map values to [0, 1] through ``window`` (DICOM PS3.3 C.11.2.1.2 formulas; see module docstring)."""
    x = np.asarray(values, dtype=np.float64)
    c, w = window.center, window.width
    if window.function == "SIGMOID":
        y = 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    elif window.function == "LINEAR_EXACT":
        y = np.clip((x - c) / w + 0.5, 0.0, 1.0)
    else:
        lo, hi = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
        y = np.where(x <= lo, 0.0, np.where(x > hi, 1.0, (x - (c - 0.5)) / max(w - 1, 1e-12) + 0.5))
        y = np.clip(y, 0.0, 1.0)
    return y.astype(np.float32)


def apply_voi_lut(stored: np.ndarray, descriptor: Sequence[int], lut: Sequence[int] | np.ndarray) -> np.ndarray:
    """Map values through a DICOM VOI LUT (PS3.3 C.11.2.1.1) and scale the output to [0, 1].

    ``descriptor = (entries, first_mapped, bits)``: value ``first_mapped + i`` maps to ``lut[i]``; values
    below/above the range take the first/last entry; ``entries == 0`` means 65,536. Outputs are divided by
    ``2**bits - 1``.
    """
    entries, first, bits = (int(v) for v in descriptor)
    table = np.asarray(lut, dtype=np.float64).reshape(-1)
    entries = entries or 65536
    if table.size < entries:
        raise InputError(f"VOI LUT: descriptor announces {entries} entries, the LUT data has {table.size}")
    index = np.clip(np.rint(np.asarray(stored, dtype=np.float64)) - first, 0, entries - 1).astype(np.int64)
    return (table[index] / float(2**bits - 1)).clip(0.0, 1.0).astype(np.float32)


def robust_range(values: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Scale to [0, 1] between the ``low`` and ``high`` percentiles (display of MR / unknown units)."""
    x = np.asarray(values, dtype=np.float64)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return np.zeros(x.shape, dtype=np.float32)
    lo, hi = np.percentile(finite, [low, high])
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.zeros(x.shape, dtype=np.float32)
    return np.clip((np.nan_to_num(x, nan=lo) - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
