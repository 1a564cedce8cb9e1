"""``netloupe bench``: netloupe vs pytorch-grad-cam, TorchCAM and Captum, side by side in one run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._console import console
from ._options import parse_device

__all__ = ["register"]


def bench_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <device>.json and <device>.md.")] = Path(
        "results/benchmarks"
    ),
    models: Annotated[str, typer.Option(help="Comma-separated: resnet50, resnet18, efficientnet-lite0.")] = (
        "resnet50,efficientnet-lite0"
    ),
    batches: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = "1,32",
    scorecam: Annotated[
        str, typer.Option(help="Models to run the (slow) Score-CAM case on; '' for none.")
    ] = "resnet18",
    memory_batch: Annotated[int, typer.Option(help="Batch for the peak-memory rows (0: skip).")] = 32,
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda.")] = "auto",
) -> None:
    """Time every case for every library and write the table."""
    from ..bench import memory_rows, run_suite, write_results

    dev = parse_device(device)
    model_list = [m for m in models.split(",") if m]
    rows = run_suite(
        model_list,
        [int(b) for b in batches.split(",") if b],
        dev,
        repeats,
        [m for m in scorecam.split(",") if m],
        log=lambda s: console.print(s, highlight=False, markup=False),
    )
    memory = (
        memory_rows(model_list, memory_batch, dev, log=lambda s: console.print(s, highlight=False, markup=False))
        if memory_batch
        else []
    )
    md = write_results(rows, memory, out, dev, "netloupe bench " + " ".join(sys.argv[2:]))
    console.print(f"wrote {md}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)
