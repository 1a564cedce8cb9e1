"""Demo section: action recognition from video (moving digits), explained over space and time.

Uses only the shipped video models (trained by ``netloupe video train``) and clips generated on the fly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NetloupeError
from ..viz.report import ReportSection, figure_to_data_uri, table_html

if TYPE_CHECKING:
    from .runner import DemoContext

__all__ = ["build"]


def build(ctx: DemoContext) -> ReportSection | None:
    """A Grad-CAM strip for two clips and the map scores on a few dozen fresh clips; None without weights."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..video.data import CLASSES, make_video_set
    from ..video.explain import explain_clips, load_shipped_video_models, score_maps
    from ..video.views import plot_strip

    try:
        models = load_shipped_video_models()
        data = make_video_set(12 if ctx.fast else 36, seed=2024, frames=16, digits_slice=slice(1300, None))
    except NetloupeError as exc:
        ctx.log(f"video section skipped: {exc}")
        return None
    maps = explain_clips(models, data)
    examples = [
        int(np.flatnonzero(data.labels == k)[0]) for k in (CLASSES.index("left-to-right"), CLASSES.index("circle"))
    ]
    fig = plot_strip(data.videos[examples], maps, examples, data, [CLASSES[data.labels[i]] for i in examples])
    uri = figure_to_data_uri(fig)
    plt.close(fig)
    rows = []
    for name, m in maps.items():
        s = score_maps(m, data)
        rows.append(
            [
                name,
                f"{s['pointing_moving_frames']:.2f}",
                f"{s['pointing_on_distractor']:.2f}",
                f"{s['pointing_chance']:.2f}",
                f"{s['temporal_share_moving']:.2f}",
                f"{s['temporal_share_chance']:.2f}",
            ]
        )
    body = (
        "<p class='note'>A video is a sequence of frames. A CNN + LSTM reads frame by frame (many-to-one for the "
        "clip's action, synced many-to-many for a per-frame label: is the moving digit in view); a Conv3d "
        "network convolves over "
        "time and space at once. The clips are synthetic, so the answer is known: a digit whose motion is the "
        "class, a static distractor digit, noise. Grad-CAM per frame (CNN + LSTM) and as one 3-D map (Conv3d) "
        "should light up the moving digit in the frames where it is (green boxes).</p>"
        f"<figure><img src='{uri}'><figcaption>Frames and Grad-CAM for two fresh clips.</figcaption></figure>"
        f"<p>On {len(data.labels)} fresh clips (results/video/scores.md has the full test set):</p>"
        + table_html(["model", "pointing (moving frames)", "on distractor", "chance", "temporal share", "chance"], rows)
    )
    return ReportSection(title="Video: action recognition over frames, explained in space and time", body=body)
