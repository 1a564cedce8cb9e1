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
    repeats: Annotated[
        int, typer.Option(min=1, help="Interleaved rounds per (model, batch): every contender once per round.")
    ] = 10,
    scorecam_repeats: Annotated[int, typer.Option(min=1, help="Interleaved rounds of the Score-CAM case.")] = 3,
    timing: Annotated[bool, typer.Option(help="Time the cases (--no-timing keeps the rows already in --out).")] = True,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda.")] = "auto",
) -> None:
    """Time every case for every library and write the table."""
    from ..bench import BENCH_MODELS, load_results, load_rows, memory_rows, run_suite, write_results
    from ..errors import InputError, did_you_mean

    dev = parse_device(device)
    model_list = [m for m in models.split(",") if m]
    for name in [*model_list, *(m for m in scorecam.split(",") if m)]:
        if name not in BENCH_MODELS:
            raise InputError(f"--models/--scorecam: unknown model {name!r}{did_you_mean(name, BENCH_MODELS)}")
    try:
        batch_list = [int(b) for b in batches.split(",") if b]
    except ValueError:
        raise InputError(f"--batches: expected comma-separated whole numbers, got {batches!r}") from None
    if not batch_list or min(batch_list) < 1:
        raise InputError(f"--batches: expected batch sizes >= 1, got {batches!r}")
    if not timing:
        rows = load_rows(out / f"{dev.type}.json")
    else:
        rows = run_suite(
            model_list,
            batch_list,
            dev,
            repeats,
            [m for m in scorecam.split(",") if m],
            log=lambda s: console.print(s, highlight=False, markup=False),
            scorecam_repeats=scorecam_repeats,
        )
    memory = (
        memory_rows(model_list, memory_batch, dev, log=lambda s: console.print(s, highlight=False, markup=False))
        if memory_batch
        else []
    )
    command = "netloupe bench " + " ".join(sys.argv[2:])
    if not timing:  # keep saying which command produced the timing rows
        previous = load_results(out / f"{dev.type}.json")["meta"]["command"].split(" ; memory: ")[0]
        command = f"{previous} ; memory: {command}"
    md = write_results(rows, memory, out, dev, command)
    console.print(f"wrote {md}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)
