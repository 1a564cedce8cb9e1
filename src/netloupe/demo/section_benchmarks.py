"""Demo section: the committed benchmark table (netloupe vs the peer libraries), when present."""

from __future__ import annotations

import json
from pathlib import Path

from ..viz.report import ReportSection, table_html
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
        rows = [
            [
                r["model"],
                r["batch"],
                r["case"],
                r["library"],
                f"{r['images_per_s']:.2f}",
                f"{r['ratio_to_forward']:.2f}",
            ]
            for r in data["rows"]
        ]
        parts.append(f"<h3>{tag.upper()}: {meta['device']}, torch {meta['torch']}, {meta['date']}</h3>")
        parts.append(f"<p class='note mono'>{meta['command']}</p>")
        parts.append(table_html(["model", "batch", "case", "library", "images/s", "x no-grad forward"], rows))
    if not parts:
        return None
    intro = (
        "<p class='note'>Same model, inputs, layer and classes for every library, timed in one process run "
        "next to a plain no-grad forward pass (the floor).</p>"
    )
    return ReportSection("Speed, side by side", intro + "".join(parts))
