"""Demo section: the committed benchmark results (netloupe vs the peer libraries), when present."""

from __future__ import annotations

import json
from pathlib import Path

from ..bench.peers import LIBRARIES
from ..bench.report import summary_rows
from ..bench.suite import BenchRow
from ..viz.report import ReportSection, figure_html, png_file_to_data_uri, table_html
from .runner import DemoContext

__all__ = ["build", "results_dir"]


def results_dir() -> Path:
    """``results/benchmarks`` of the source checkout this package runs from (editable installs)."""
    return Path(__file__).resolve().parents[3] / "results" / "benchmarks"


def build(ctx: DemoContext) -> ReportSection | None:
    parts = []
    for tag in ("cpu", "cuda"):
        path = results_dir() / f"{tag}.json"
        if not path.is_file():
            continue
        data = json.loads(path.read_text())
        meta = data["meta"]
        rows = [BenchRow(**r) for r in data["rows"]]
        table = [[cell.replace("**", "") for cell in row] for row in summary_rows(rows, data.get("memory", []))]
        parts.append(f"<h3>{tag.upper()}: {meta['device']}, torch {meta['torch']}, {meta['date']}</h3>")
        parts.append(f"<p class='note mono'>{meta['command']}</p>")
        chart = path.with_suffix(".png")
        if chart.is_file():
            parts.append(figure_html(png_file_to_data_uri(chart), f"{tag.upper()} benchmark"))
        parts.append(table_html(["case (x no-grad forward; r: map correlation with netloupe)", *LIBRARIES], table))
    if not parts:
        return None
    intro = (
        "<p class='note'>Same model, inputs, layer and classes for every library, timed in one process run in "
        "interleaved rounds next to a plain no-grad forward pass (the floor); lower is better.</p>"
    )
    return ReportSection("Speed, side by side", intro + "".join(parts))
