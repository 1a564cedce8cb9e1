"""Assemble the demo report from its sections."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import torch

from .._optional import MissingDependency
from ..viz.report import Report, ReportSection

__all__ = ["SECTION_MODULES", "DemoContext", "run_demo"]

#: Section builders, in report order. Add yours here.
SECTION_MODULES: list[str] = [
    "netloupe.demo.section_explain",
    "netloupe.demo.section_localization",
    "netloupe.demo.section_internals",
    "netloupe.demo.section_medical",
    "netloupe.demo.section_sequence",
    "netloupe.demo.section_translate",
    "netloupe.demo.section_video",
    "netloupe.demo.section_caption",
    "netloupe.demo.section_benchmarks",
]


@dataclass
class DemoContext:
    """What every section may use: where to write, the device, a shared cache, progress reporting."""

    out_dir: Path
    device: torch.device
    fast: bool = False
    cache: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print
    timings: dict[str, float] = field(default_factory=dict)


def run_demo(
    out_dir: str | Path,
    device: str | torch.device = "cpu",
    fast: bool = False,
    sections: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Build every section and write ``out_dir/report.html``; returns its path."""
    ctx = DemoContext(out_dir=Path(out_dir), device=torch.device(device), fast=fast, log=log)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(
        title="netloupe demo",
        subtitle="Where the network looks, and whether it is right: real photographs explained by the default model.",
    )
    skipped: list[tuple[str, str]] = []
    for name in sections or SECTION_MODULES:
        start = time.perf_counter()
        module = import_module(name)
        try:
            section: ReportSection | None = module.build(ctx)
        except MissingDependency as exc:  # an optional extra is absent: say so, keep the rest of the report
            section = None
            skipped.append((section_title(module), str(exc)))
            ctx.log(f"{section_title(module)}: not in the report ({exc})")
        else:
            if section is None:
                skipped.append((section_title(module), "its data or optional extra is not available here"))
        ctx.timings[name] = time.perf_counter() - start
        if section is not None:
            report.add(section)
    if skipped:
        report.add(_skipped_section(skipped))
    return report.write(ctx.out_dir / "report.html")


def section_title(module: Any) -> str:
    """A section module's subject, from its docstring's first line (``Demo section: X`` -> ``X``)."""
    first = ((module.__doc__ or module.__name__).strip().splitlines() or [module.__name__])[0]
    return first.removeprefix("Demo section:").strip().rstrip(".") or module.__name__


def _skipped_section(skipped: list[tuple[str, str]]) -> ReportSection:
    import html

    items = "".join(f"<li>{html.escape(title)}: {html.escape(reason)}</li>" for title, reason in skipped)
    return ReportSection("Not in this report", f"<ul class='note'>{items}</ul>", anchor="skipped")
