"""Demo section: the captioner explained word by word, and activity recognition from wearables.

The captioner is trained on MedPix images whose terms forbid redistribution, so neither its weights
nor its figures ship: the section shows the committed scores, and the word-by-word strips when they
were generated locally (`netloupe caption-train`). The activity-recognition figures (TUG, CC BY 4.0)
are committed and shown as they are.
"""

from __future__ import annotations

from pathlib import Path

from ..viz.report import ReportSection, png_file_to_data_uri, table_html
from .runner import DemoContext

__all__ = ["build"]


def _results() -> Path:
    return Path(__file__).resolve().parents[3] / "results"


def _markdown_table(path: Path) -> str:
    """The first Markdown table of ``path`` as HTML ('' when absent)."""
    if not path.is_file():
        return ""
    lines: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("|"):
            lines.append(line)
        elif lines:  # the first table ended
            break
    if len(lines) < 3:
        return ""
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return table_html(rows[0], rows[2:])


def _png(path: Path, caption: str) -> str:
    uri = png_file_to_data_uri(path)
    return f"<figure><img src='{uri}' style='max-width:560px'><figcaption>{caption}</figcaption></figure>"


def build(ctx: DemoContext) -> ReportSection | None:
    results = _results()
    caption_table = _markdown_table(results / "caption" / "scores.md")
    har_table = _markdown_table(results / "har" / "scores.md")
    if not caption_table and not har_table:
        return None
    parts = []
    if caption_table:
        parts.append(
            "<h3>Image captioning (CNN encoder + LSTM decoder), MedPix test split</h3><p class='note'>"
            "BLEU and whether the caption names the right modality, plane and body region, against two baselines. "
            "Each generated word gets its own Grad-CAM map (target: the word's log-probability given the prefix).</p>"
        )
        parts.append(caption_table)
        for strip in sorted((results / "caption").glob("strip_*.png"))[:2]:  # only when generated locally
            parts.append(_png(strip, "word-by-word Grad-CAM"))
    if har_table:
        parts.append("<h3>Activity recognition from a smartphone (Timed-Up-and-Go), held-out subjects</h3>")
        parts.append(har_table)
        for fig in sorted((results / "har").glob("tug_cnn_*.png")):
            parts.append(_png(fig, fig.stem.replace("_", " ") + ": attribution over time and sensor axis"))
    return ReportSection("Captions and wearables", "".join(parts))
