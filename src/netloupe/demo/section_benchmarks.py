"""Demo section: the recorded benchmark (netloupe vs the peer libraries), shipped with the package.

The table and chart are a copy of ``results/benchmarks/cpu.{json,png}`` made by ``netloupe bench`` (see
``make bench``) and kept in ``netloupe/demo/data`` so that an installed netloupe shows them too. They are
*recorded* numbers: the section says on which machine, with which torch and on which date they were
measured, and how to measure them on this machine.
"""

from __future__ import annotations

import html
import json
from importlib import resources

from ..bench.peers import LIBRARIES
from ..bench.report import summary_rows
from ..bench.suite import BenchRow
from ..viz.report import ReportSection, figure_html, table_html
from .recorded import recorded_note, resource_data_uri
from .runner import DemoContext

__all__ = ["RECORDED", "build"]

#: Recorded benchmark files shipped in ``netloupe/demo/data`` (tag -> file stem).
RECORDED = {"cpu": "benchmarks_cpu"}


def build(ctx: DemoContext) -> ReportSection | None:
    data_dir = resources.files("netloupe.demo").joinpath("data")
    parts = []
    for tag, stem in RECORDED.items():
        path = data_dir.joinpath(f"{stem}.json")
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        meta = data["meta"]
        rows = [BenchRow(**r) for r in data["rows"]]
        table = [[cell.replace("**", "") for cell in row] for row in summary_rows(rows, data.get("memory", []))]
        parts.append(f"<h3>{tag.upper()}</h3>")
        parts.append(
            recorded_note(
                f"{meta['device']}, torch {meta['torch']}, {meta.get('threads', '?')} threads",
                meta["date"],
                "make bench (or the command below)",
            )
        )
        parts.append(f"<p class='note mono'>{html.escape(meta['command'])}</p>")
        chart = data_dir.joinpath(f"{stem}.png")
        if chart.is_file():
            parts.append(
                figure_html(
                    resource_data_uri(chart),
                    f"{tag.upper()} benchmark recorded on {meta['device']} ({meta['date'][:10]}): time per case "
                    "relative to a plain forward pass, netloupe and the peer libraries",
                )
            )
        parts.append(table_html(["case (x no-grad forward; r: map correlation with netloupe)", *LIBRARIES], table))
    if not parts:
        return None
    intro = (
        "<p class='note'>Same model, inputs, layer and classes for every library, timed in one process run in "
        "interleaved rounds next to a plain no-grad forward pass (the floor); lower is better.</p>"
    )
    return ReportSection("Speed, side by side (recorded)", intro + "".join(parts))
