"""Explanations over time x channel for activity recognisers, drawn on the signal, with a faithfulness check.

* Integrated Gradients (Sundararajan, Taly & Yan, 2017) gives a value per channel and sample.
* Occlusion (Zeiler & Fergus, 2014) per channel: a window of ``window`` samples of ONE channel is set to the
  baseline (0 = the training mean after z-scoring) and the drop of the target probability is credited
  to those samples.
* Grad-CAM over time (Selvaraju et al., 2017) for the GAP 1-D CNN, through the CAM engine.
* Faithfulness: delete (set to 0) the top-attributed time steps, ranked by |IG| summed over channels and
  smoothed over ``smooth`` samples so that whole segments go, against random steps
  (:func:`netloupe.sequence.faithfulness.deletion_vs_random`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..attribution import integrated_gradients, occlusion
from ..errors import InputError
from .faithfulness import DeletionCurves, deletion_vs_random

__all__ = ["attribute_time_channel", "deletion_check", "signal_figure"]


def attribute_time_channel(
    model: nn.Module, x: Tensor, targets: list[int], method: str = "integrated_gradients", window: int = 10
) -> Tensor:
    """Signed attribution (N, C, L) of class ``targets`` for windows ``x`` (N, C, L)."""
    model.eval()
    if x.ndim != 3:
        raise InputError(f"inputs: expected (N, C, L) sensor windows, got {tuple(x.shape)}")
    if method == "integrated_gradients":
        return integrated_gradients(model, x, targets, steps=32).values[:, 0].detach()
    if method == "occlusion":
        out = torch.zeros_like(x)
        for c in range(x.shape[1]):

            def forward(xc: Tensor, c: int = c) -> Tensor:
                rep = xc.shape[0] // x.shape[0]
                base = x.repeat(rep, 1, 1)
                base = torch.cat([base[:, :c], xc, base[:, c + 1 :]], 1)
                return F.softmax(model(base), -1)

            vals = occlusion(forward, x[:, c : c + 1], targets, window=window, time_dim=-1).values
            out[:, c] = vals[:, 0, 0]
        return out
    if method == "gradcam":
        from .explain import gradcam_over_time

        return gradcam_over_time(model, x, targets)[:, None].expand(-1, x.shape[1], -1).clone()
    raise InputError(f"method: expected integrated_gradients | occlusion | gradcam, got {method!r}")


def deletion_check(
    model: nn.Module, x: Tensor, targets: list[int], attribution: Tensor, smooth: int = 9, repeats: int = 5
) -> DeletionCurves:
    """Deletion curves: top-|attribution| steps (summed over channels, moving-average ``smooth``) vs random."""
    per_step = attribution.abs().sum(1, keepdim=True)
    per_step = F.avg_pool1d(per_step, smooth, 1, smooth // 2, count_include_pad=False)[:, 0]
    idx = torch.tensor(targets)

    def score(out: Tensor) -> Tensor:
        return F.softmax(out, -1)[torch.arange(len(idx)), idx]

    return deletion_vs_random(model, x, per_step, score, time_dim=-1, repeats=repeats)


def signal_figure(
    x: Tensor,
    attribution: Tensor,
    channels: Sequence[str],
    title: str,
    rate_hz: float = 100.0,
    curve: Tensor | None = None,
    curve_label: str = "Grad-CAM",
) -> object:
    """One window (C, L): each channel's trace over a heat strip of its |attribution| (shared scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c, length = x.shape
    t = torch.arange(length) / rate_hz
    a = attribution.abs()
    a = a / a.max().clamp_min(1e-12)
    rows = c + (1 if curve is not None else 0)
    fig, axes = plt.subplots(rows, 1, figsize=(7, 0.8 * rows + 0.6), sharex=True, squeeze=False)
    for k in range(c):
        ax = axes[k, 0]
        lo, hi = float(x[k].min()), float(x[k].max())
        ax.imshow(
            a[k][None].numpy(),
            aspect="auto",
            cmap="Reds",
            vmin=0,
            vmax=1,
            extent=(0, length / rate_hz, lo - 0.1, hi + 0.1),
            origin="lower",
        )
        ax.plot(t.numpy(), x[k].numpy(), color="black", lw=0.8)
        ax.set_ylabel(channels[k], fontsize=7, rotation=0, ha="right")
        ax.tick_params(labelsize=6)
        ax.text(
            1.01,
            0.5,
            f"{100 * float(attribution[k].abs().sum() / attribution.abs().sum()):.0f}%",
            transform=ax.transAxes,
            fontsize=7,
            va="center",
        )
    if curve is not None:
        ax = axes[-1, 0]
        ax.fill_between(t.numpy(), curve.numpy(), color="tab:orange", alpha=0.7)
        ax.set_ylabel(curve_label, fontsize=7, rotation=0, ha="right")
        ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel("seconds", fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig
