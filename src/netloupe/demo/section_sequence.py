"""Demo section: recurrent networks explained over time, from the models that ship with netloupe.

Uses only shipped weights (sentiment BiLSTM, row-by-row digit LSTM); nothing is trained here.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import torch

from ..errors import NetloupeError
from ..viz.report import ReportSection, figure_to_data_uri, img_html

if TYPE_CHECKING:
    from .runner import DemoContext

__all__ = ["build"]

_SENTENCES = [
    "The food was not good, but the service was excellent!",
    "I would not recommend this phone, the battery died after two days.",
    "A wonderful, touching movie with great acting.",
]


def build(ctx: DemoContext) -> ReportSection | None:
    """Coloured tokens, gate heatmaps and a row-by-row digit LSTM; None if the shipped weights are absent."""
    import matplotlib

    matplotlib.use("Agg")
    from ..attribution import integrated_gradients
    from ..sequence.checkpoint import load_bundle
    from ..sequence.data import digits_rows
    from ..sequence.explain import explain_text
    from ..sequence.inspect import lstm_states
    from ..sequence.views import plot_state_heatmaps, tokens_html

    try:
        sentiment = load_bundle("sentiment")
        digits = load_bundle("digits")
    except NetloupeError as exc:
        ctx.log(f"sequence section skipped: {exc}")
        return None
    parts = [
        "<p class='note'>A recurrent network keeps a memory that is fed back as an extra input at the next "
        "step; an LSTM decides with input, forget and output gates what to write, keep and read. Below, the "
        "shipped sentiment BiLSTM (UCI sentences, CC BY 4.0; "
        f"{sentiment.metrics.get('accuracy', float('nan')):.1f}% on its held-out split) is explained with "
        "Integrated Gradients (Sundararajan et al., 2017): red words push towards the predicted label, blue "
        "words against it.</p>"
    ]
    sentences = _SENTENCES[:2] if ctx.fast else _SENTENCES
    for s in sentences:
        e = explain_text(sentiment, s, steps=16)
        parts.append(
            f"<p><b>{html.escape(e.label)}</b> (p = {e.probability:.2f})</p>"
            + tokens_html(e.tokens, e.attribution, unknown=e.unknown)
        )
    e = explain_text(sentiment, _SENTENCES[0], steps=8)
    tok = torch.tensor([sentiment.vocab.encode(e.tokens)])  # type: ignore[union-attr]
    fig = plot_state_heatmaps(
        lstm_states(sentiment.model, tok).gates(),
        e.tokens,
        units=12,
        title="forward LSTM: which units switch on at which word",
    )
    parts.append(
        f"<figure>{img_html(figure_to_data_uri(fig), 'heatmaps of LSTM gate and state values per word')}"
        "<figcaption>Gate values f(z_i), f(z_f), f(z_o) "
        "and the cell/hidden states of the 12 most active units, per word.</figcaption></figure>"
    )
    x, _ = digits_rows()
    xs = x[1347:1351]
    with torch.no_grad():
        pred = digits.model(xs).argmax(1)
    attr = integrated_gradients(digits.model, xs, pred.tolist(), steps=16).values[:, 0]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(xs), figsize=(2 * len(xs), 4.2))
    for i in range(len(xs)):
        axes[0, i].imshow(xs[i].numpy(), cmap="gray_r")
        axes[0, i].set_title(f"LSTM reads: {int(pred[i])}", fontsize=9)
        m = float(attr[i].abs().max()) or 1.0
        axes[1, i].imshow(attr[i].numpy(), cmap="coolwarm", vmin=-m, vmax=m)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.tight_layout()
    parts.append(
        f"<figure>{img_html(figure_to_data_uri(fig), 'four digits and their Integrated Gradients maps')}"
        "<figcaption>Digits read row by row by an LSTM "
        f"({digits.metrics.get('accuracy', float('nan')):.1f}% on the last 450 scikit-learn digits); "
        "bottom: Integrated Gradients per pixel.</figcaption></figure>"
    )
    return ReportSection(title="Sequences: RNNs and LSTMs explained over time", body="".join(parts))
