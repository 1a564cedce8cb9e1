"""``netloupe demo``: the main job, one self-contained HTML report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ._console import console
from ._options import Threads, parse_device, set_threads

__all__ = ["register"]


def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for report.html.")] = Path("netloupe-demo"),
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    fast: Annotated[bool, typer.Option(help="Fewer images and methods (for tests).")] = False,
    threads: Threads = None,
) -> None:
    """Explain real photographs with the default model and write one HTML report."""
    from ..demo import run_demo

    set_threads(threads)
    start = time.perf_counter()
    path = run_demo(out, device=parse_device(device), fast=fast, log=lambda s: console.print(s, highlight=False))
    console.print(f"report: {path}  ({time.perf_counter() - start:.0f} s)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
