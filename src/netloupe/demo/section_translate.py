"""Demo section: many-to-many translation with attention (dates -> ISO dates), explained per output character.

Uses only the shipped date translator (trained by ``netloupe seq train-translate``); nothing is trained here.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

from ..errors import NetloupeError
from ..viz.report import ReportSection, figure_to_data_uri

if TYPE_CHECKING:
    from .runner import DemoContext

__all__ = ["build"]

# (date, format, locale): one training format, one held-out format, one held-out locale/format combination.
_EXAMPLES = [
    (dt.date(1999, 3, 16), "{wd} {d} {Month} {yyyy}", "en"),
    (dt.date(1987, 8, 3), "{d}-{Mon}-{yyyy}", "en"),
    (dt.date(2003, 3, 1), "{wd} {d} {Month} {yyyy}", "de"),
]


def build(ctx: DemoContext) -> ReportSection | None:
    """Attention rows next to integrated gradients for a few dates; None if the shipped weights are absent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..sequence.translate_data import render_date
    from ..sequence.translate_explain import explain_translation
    from ..sequence.translate_train import load_translator

    try:
        bundle = load_translator()
    except NetloupeError as exc:
        ctx.log(f"translation section skipped: {exc}")
        return None
    m = bundle.metrics
    parts = [
        "<p class='note'>An encoder-decoder LSTM with Luong attention (Luong, Pham &amp; Manning, 2015) "
        "translates dates written in words (English, French, German) into ISO 8601, one character at a time. "
        "For every output character it shows where its attention went (left) and which source characters "
        "the output's score depends on by Integrated Gradients (Sundararajan et al., 2017; right). The "
        "generator knows which source field produces each output digit (red boxes), so both can be scored. "
        f"Exact match: {m.get('exact_match_test_unseen_dates', float('nan')):.3f} on unseen dates, "
        f"{m.get('exact_match_test_unseen_formats', float('nan')):.3f} on formats never seen in training.</p>"
    ]
    for date, fmt, locale in _EXAMPLES[:2] if ctx.fast else _EXAMPLES:
        pair = render_date(date, fmt, locale)
        e = explain_translation(bundle, pair.source, "integrated_gradients", pair=pair)
        fig = e.plot()
        verdict = "correct" if e.output == pair.target else f"wrong, expected {pair.target}"
        parts.append(
            f"<figure><img src='{figure_to_data_uri(fig)}'><figcaption>{html.escape(pair.source)} &rarr; "
            f"{e.output} ({verdict}; format <span class='mono'>{html.escape(fmt)}</span>, {locale})"
            "</figcaption></figure>"
        )
        plt.close(fig)
    parts.append(
        "<p class='note'>Alignment accuracy of attention and of the gradient attributions against the known "
        "alignment, on unseen dates and unseen formats: results/translate/scores.md.</p>"
    )
    return ReportSection(title="Translation with attention (many-to-many), explained", body="".join(parts))
