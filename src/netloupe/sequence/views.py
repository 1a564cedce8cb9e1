"""Views of explanations over time: coloured tokens (terminal, HTML), attribution along an ECG trace,
heatmaps of hidden units and gate values over time. Pure presentation: tensors in, text/figures out.

Colour convention (all views): red = pushes towards the explained label, blue = pushes against it,
intensity = |attribution| / max |attribution| of the sentence or signal.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import Tensor

__all__ = [
    "plot_attribution_trace",
    "plot_record_strip",
    "plot_state_heatmaps",
    "tokens_html",
    "tokens_rich",
]


def _scaled(scores: Tensor | np.ndarray) -> np.ndarray:
    a = np.asarray(scores.detach().cpu() if isinstance(scores, Tensor) else scores, dtype=np.float64)
    m = np.abs(a).max() if a.size else 0.0
    return a / m if m > 0 else np.zeros_like(a)


def _rgb(v: float) -> tuple[int, int, int]:
    """White -> red for v > 0, white -> blue for v < 0 (|v| <= 1)."""
    t = min(abs(v), 1.0)
    if v >= 0:
        return 255, int(255 * (1 - 0.75 * t)), int(255 * (1 - 0.75 * t))
    return int(255 * (1 - 0.75 * t)), int(255 * (1 - 0.55 * t)), 255


def tokens_rich(tokens: Sequence[str], scores: Tensor | np.ndarray, tags: Sequence[str] | None = None) -> object:
    """A ``rich.text.Text`` with each token on a background coloured by its attribution (tags appended)."""
    from rich.text import Text

    text = Text()
    for i, (tok, v) in enumerate(zip(tokens, _scaled(scores), strict=True)):
        r, g, b = _rgb(float(v))
        text.append(f" {tok} ", style=f"black on rgb({r},{g},{b})")
        if tags is not None and tags[i] != "O":
            text.append(f"[{tags[i]}]", style="bold cyan")
        text.append(" ")
    return text


def tokens_html(
    tokens: Sequence[str],
    scores: Tensor | np.ndarray,
    tags: Sequence[str] | None = None,
    unknown: Sequence[bool] | None = None,
) -> str:
    """Self-contained HTML: one coloured ``<span>`` per token with its score in a tooltip."""
    raw = np.asarray(scores.detach().cpu() if isinstance(scores, Tensor) else scores, dtype=np.float64)
    parts = []
    for i, (tok, v) in enumerate(zip(tokens, _scaled(scores), strict=True)):
        r, g, b = _rgb(float(v))
        border = "border-bottom:2px dashed #888;" if unknown is not None and unknown[i] else ""
        tag = ""
        if tags is not None and tags[i] != "O":
            tag = f'<sub style="color:#2a4fb0;font-size:11px">{html.escape(tags[i])}</sub>'
        parts.append(
            f'<span title="{raw[i]:+.4f}" style="background:rgb({r},{g},{b});padding:2px 4px;margin:1px;'
            f'border-radius:4px;{border}">{html.escape(tok)}</span>{tag}'
        )
    return '<div style="line-height:2.2;font-size:16px">' + " ".join(parts) + "</div>"


def _attr_colormap():  # type: ignore[no-untyped-def]
    import matplotlib

    return matplotlib.colormaps["coolwarm"]


def plot_attribution_trace(
    signal: Tensor | np.ndarray,
    attribution: Tensor | np.ndarray,
    title: str = "",
    fs: float | None = None,
    ax: object | None = None,
    signed: bool = True,
) -> object:
    """An ECG trace whose line colour and shaded band show the attribution of every sample."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    y = np.asarray(signal.detach().cpu() if isinstance(signal, Tensor) else signal, dtype=np.float64).reshape(-1)
    a = _scaled(attribution).reshape(-1) if signed else np.clip(_scaled(attribution).reshape(-1), 0, 1)
    t = np.arange(len(y)) / fs if fs else np.arange(len(y))
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 2.6))
    axes: Any = ax  # a matplotlib Axes (typed loosely so that matplotlib stays a lazy import)
    segs = np.stack([np.column_stack([t[:-1], y[:-1]]), np.column_stack([t[1:], y[1:]])], axis=1)
    lc = LineCollection(list(segs), cmap=_attr_colormap(), norm=plt.Normalize(-1, 1), linewidth=2.4)
    lc.set_array((a[:-1] + a[1:]) / 2)
    axes.add_collection(lc)
    lo, hi = y.min(), y.max()
    pad = 0.1 * (hi - lo + 1e-9)
    axes.fill_between(t, lo - pad, lo - pad + 0.25 * (hi - lo) * np.abs(a), color="#d9534f", alpha=0.35, step="mid")
    axes.set_xlim(t[0], t[-1])
    axes.set_ylim(lo - 2 * pad, hi + pad)
    axes.set_xlabel("time (s)" if fs else "sample")
    axes.set_title(title, fontsize=10)
    if fig is not None:
        fig.colorbar(lc, ax=axes, fraction=0.03, pad=0.01, label="attribution")
        fig.tight_layout()
    return fig if fig is not None else ax


def plot_record_strip(
    signal: np.ndarray,
    fs: float,
    windows: np.ndarray,
    beat_attributions: Sequence[np.ndarray],
    labels: Sequence[str],
    truth: Sequence[str] | None = None,
    start_s: float = 0.0,
    seconds: float = 10.0,
) -> object:
    """A strip of a long recording with each beat's attribution mapped back onto its samples."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = int(start_s * fs), int((start_s + seconds) * fs)
    attr = np.zeros(hi - lo)
    fig, ax = plt.subplots(figsize=(12, 2.8))
    for (a, b), beat_attr, lab, i in zip(windows, beat_attributions, labels, range(len(labels)), strict=True):
        if b <= lo or a >= hi:
            continue
        grid = np.interp(np.arange(a, b), np.linspace(a, b - 1, len(beat_attr)), _scaled(beat_attr))
        s0, s1 = max(a, lo), min(b, hi)
        attr[s0 - lo : s1 - lo] = np.where(
            np.abs(grid[s0 - a : s1 - a]) > np.abs(attr[s0 - lo : s1 - lo]),
            grid[s0 - a : s1 - a],
            attr[s0 - lo : s1 - lo],
        )
        mark = lab if truth is None else f"{lab}\n({truth[i]})"
        ax.text((a + b) / 2 / fs, signal[lo:hi].max(), mark, ha="center", va="bottom", fontsize=7)
    plot_attribution_trace(signal[lo:hi], attr, fs=fs, ax=ax)
    ax.set_xticks(ax.get_xticks())
    ax.set_xticklabels([f"{v + start_s:.0f}" for v in ax.get_xticks()])
    ax.set_title(
        "MIT-BIH record 100, lead MLII: each beat's attribution for its predicted class (truth in brackets)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def plot_state_heatmaps(
    states: Mapping[str, Tensor | np.ndarray],
    step_labels: Sequence[str] | None = None,
    units: int | None = 24,
    title: str = "",
) -> object:
    """One heatmap per state (gates, cell, hidden): units (rows) x time steps (columns).

    ``states`` maps names to ``(T, H)`` arrays (or ``(1, T, H)``, e.g. :meth:`LSTMTrace.gates`).

    ``units`` keeps the units whose values vary most over time (None = all).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arrays = {
        k: np.asarray(v.detach().cpu() if isinstance(v, Tensor) else v, dtype=np.float64) for k, v in states.items()
    }
    arrays = {k: a[0] if a.ndim == 3 else a for k, a in arrays.items()}  # one sequence of a (1, T, H) batch
    first = next(iter(arrays.values()))
    keep = np.arange(first.shape[1])
    if units is not None and first.shape[1] > units:
        spread = sum(a.std(0) for a in arrays.values())
        keep = np.sort(np.argsort(-spread)[:units])
    n = len(arrays)
    steps = first.shape[0]
    fig, axes = plt.subplots(1, n, figsize=(min(3.2 * n, 18), 0.25 * len(keep) + 1.8), squeeze=False)
    for ax, (name, a) in zip(axes[0], arrays.items(), strict=True):
        gate = name.split()[0] in ("input", "forget", "output")
        im = ax.imshow(
            a[:, keep].T,
            aspect="auto",
            cmap="viridis" if gate else "coolwarm",
            vmin=0 if gate else -np.abs(a).max(),
            vmax=1 if gate else np.abs(a).max(),
            interpolation="nearest",
        )
        ax.set_title(name, fontsize=9)
        ax.set_xticks(range(steps))
        ax.set_xticklabels(step_labels if step_labels is not None else range(steps), rotation=70, fontsize=7)
        ax.set_yticks(range(len(keep)))
        ax.set_yticklabels(keep, fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    axes[0][0].set_ylabel("unit")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
