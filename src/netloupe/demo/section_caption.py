"""Demo section: the captioner explained word by word, and activity recognition from wearables.

Word by word: the attention captioner trained on netloupe's own synthetic shapes scenes (committed, so
it always shows) gets one map per word, from the decoder's attention and from Grad-CAM, side by side,
with the pointing-game table that scores both against the words' known boxes. The MedPix captioners
are trained on images whose terms forbid redistribution, so neither their weights nor their figures
ship: the section shows the committed scores, and MedPix strips only when generated locally
(`netloupe caption-train`). The activity-recognition figures (TUG, CC BY 4.0) are committed as they are.
Every table says when and on what machine it was measured (the line under the table's title in its file).
"""

from __future__ import annotations

import html
from pathlib import Path

from ..viz.report import ReportSection, png_file_to_data_uri, table_html
from .runner import DemoContext

__all__ = ["build"]


def _results() -> Path:
    return Path(__file__).resolve().parents[3] / "results"


#: Readable column names for the older tables whose files use metric keys as headers.
READABLE = {
    "bleu1": "BLEU-1",
    "bleu2": "BLEU-2",
    "bleu3": "BLEU-3",
    "bleu4": "BLEU-4",
    "modality_acc": "modality right %",
    "plane_acc": "plane right %",
    "region_acc": "body region right %",
    "modality_named": "modality named %",
    "plane_named": "plane named %",
    "region_named": "body region named %",
}


def _markdown_tables(path: Path) -> list[str]:
    """Every Markdown table of ``path`` as HTML, headers made readable ([] when absent)."""
    if not path.is_file():
        return []
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*path.read_text().splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    out = []
    for lines in tables:
        if len(lines) < 3:
            continue
        rows = [[c.strip().replace("**", "") for c in ln.strip("|").split("|")] for ln in lines]
        out.append(table_html([READABLE.get(h, h) for h in rows[0]], rows[2:]))
    return out


def _markdown_table(path: Path) -> str:
    """The first Markdown table of ``path`` as HTML ('' when absent)."""
    tables = _markdown_tables(path)
    return tables[0] if tables else ""


def measured_line(path: Path) -> str:
    """The file's "Measured ..." line, else its "Run of record ..." line, else "Machine: ..." ('' when none)."""
    if not path.is_file():
        return ""
    lines = path.read_text().splitlines()
    for key in ("Measured ", "Run of record", "Machine:"):
        for line in lines:
            if key in line:
                return line[line.index(key) :].strip()
    return ""


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>" if text else ""


def _word_by_word(results: Path) -> list[str]:
    """The synthetic captioner's per-word maps, its scores and the pointing game (committed results)."""
    md = results / "caption" / "synthetic.md"
    tables = _markdown_tables(md)
    if not tables:
        return []
    parts = [
        "<h3>Each word gets its own map: attention captioner on synthetic shapes</h3>"
        "<p class='note'>Frozen EfficientNet-Lite0 + Show-Attend-Tell LSTM decoder, trained on code-generated "
        "scenes whose every colour and shape word has a known box (dashed). Top row: the decoder's own attention "
        "for the word; bottom row: Grad-CAM for the word's log-probability.</p>"
    ]
    for strip in sorted((results / "caption").glob("synthetic_words_*.png"))[:1]:
        parts.append(_png(strip, "per-word maps: decoder attention (top) and Grad-CAM (bottom)"))
    parts.append("<h4>Caption quality on held-out scenes</h4>" + tables[0])
    if len(tables) > 1:
        parts.append("<h4>Pointing game: does each word's map peak on its object?</h4>" + tables[1])
    parts.append(_note(measured_line(md)))
    return parts


def _png(path: Path, caption: str) -> str:
    uri = png_file_to_data_uri(path)
    return f"<figure><img src='{uri}' style='max-width:560px'><figcaption>{caption}</figcaption></figure>"


def build(ctx: DemoContext) -> ReportSection | None:
    results = _results()
    caption_table = _markdown_table(results / "caption" / "scores.md")
    attention_table = _markdown_table(results / "caption" / "medpix_attention.md")
    har_table = _markdown_table(results / "har" / "scores.md")
    words = _word_by_word(results)
    if not caption_table and not har_table and not words and not attention_table:
        return None
    parts = [*words]
    if attention_table:
        parts.append(
            "<h3>Attention captioner on real data: MedPix test split (200 images, case-disjoint)</h3>"
            "<p class='note'>A seed ensemble of the decoder above, trained on MedPix 2.0 (ensemble size and "
            "decoding chosen on dev, then refit on train + dev); BLEU and CIDEr-D against the nearest-neighbour "
            "and most-frequent-caption baselines. Only the row in bold was chosen; the others are for reading.</p>"
        )
        parts.append(attention_table)
        parts.append(_note(measured_line(results / "caption" / "medpix_attention.md")))
    if caption_table:
        parts.append(
            "<h3>Earlier captioner (CNN encoder + LSTM decoder, no attention), MedPix test split</h3><p class='note'>"
            "BLEU and whether the caption names the right modality, plane and body region, against two baselines. "
            "Each generated word gets its own Grad-CAM map (target: the word's log-probability given the prefix); "
            "MedPix strips appear only when generated locally (the images may not be redistributed).</p>"
        )
        parts.append(caption_table)
        parts.append(_note(measured_line(results / "caption" / "README.md")))
        for strip in sorted((results / "caption").glob("strip_*.png"))[:2]:  # only when generated locally
            parts.append(_png(strip, "word-by-word Grad-CAM"))
    if har_table:
        parts.append("<h3>Activity recognition from a smartphone (Timed-Up-and-Go), held-out subjects</h3>")
        parts.append(har_table)
        parts.append(_note(measured_line(results / "har" / "README.md")))
        for fig in sorted((results / "har").glob("tug_cnn_*.png")):
            parts.append(_png(fig, fig.stem.replace("_", " ") + ": attribution over time and sensor axis"))
    return ReportSection("Captions and wearables", "".join(parts))
