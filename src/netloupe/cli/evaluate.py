"""``netloupe evaluate DATASET``: faithfulness (deletion/insertion, Average Drop, ROAD) and sanity tables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ..models.zoo import DEFAULT_MODEL
from ._console import console, fail, progress
from ._options import load_cli_model, parse_device
from .localize import parse_eval_methods

__all__ = ["register"]


def evaluate_command(
    dataset: Annotated[Path, typer.Argument(help="Folder with images/ (labels.csv optional).")],
    labels: Annotated[str | None, typer.Option(help="Labels CSV (DATASET/labels.csv).")] = None,
    images: Annotated[str | None, typer.Option(help="Image folder (DATASET/images).")] = None,
    boxes: Annotated[str | None, typer.Option(help="Boxes CSV, only to pick images.")] = None,
    label_column: Annotated[str, typer.Option(help="Column with the class index.")] = "class_index",
    method: Annotated[str, typer.Option("--method", help="Methods and baselines.")] = (
        "gradcam,gradcam++,layercam,backprop,random,sobel,center"
    ),
    model: Annotated[str, typer.Option("--model", "-m", help="Zoo name or model file.")] = DEFAULT_MODEL,
    arch: Annotated[str | None, typer.Option(help="Architecture for --checkpoint.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="State-dict file for --arch.")] = None,
    trust_pickle: Annotated[bool, typer.Option(help="Allow a pickled model.")] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("netloupe-evaluate"),
    limit: Annotated[int, typer.Option(min=1, help="Images to evaluate (the first N).")] = 16,
    steps: Annotated[int, typer.Option(min=2, help="Deletion/insertion steps.")] = 20,
    sanity_images: Annotated[int, typer.Option(min=0, help="Images for the randomisation checks.")] = 4,
    road_fractions: Annotated[
        str, typer.Option(help="ROAD removed fractions, comma-separated.")
    ] = "0.1,0.3,0.5,0.7,0.9",
    batch_size: Annotated[int, typer.Option(min=1, help="Images per batch.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the random baseline and ROAD noise.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    threads: Annotated[int | None, typer.Option(min=1, help="torch CPU threads.")] = None,
) -> None:
    """Is each method faithful to the model, and does it depend on the model at all?"""
    import torch

    from ..evaluation.studies.faithfulness import run_evaluation, write_evaluation
    from ..io.annotations import read_localization_dataset

    if threads is not None:
        torch.set_num_threads(threads)
    methods = parse_eval_methods(method)
    try:
        fractions = [float(f) for f in road_fractions.split(",") if f.strip()]
    except ValueError:
        fail(f"--road-fractions: expected comma-separated numbers in [0, 1], got {road_fractions!r}")
    dev = parse_device(device)
    ds = read_localization_dataset(
        dataset, images=images, labels=labels, boxes=boxes, label_column=label_column, require_labels=False
    )
    for line in ds.skipped:
        console.print(f"[yellow]skipped[/] {line}", highlight=False)
    items = ds.items[:limit]
    loaded = load_cli_model(model, arch, checkpoint, trust_pickle)
    start = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("evaluating", total=len(items))

        def on_progress(desc: str, done: int, total: int) -> None:
            bar.update(task, description=desc, completed=done, total=total)

        report = run_evaluation(
            loaded,
            items,
            methods,
            steps=steps,
            road_fractions=fractions,
            batch_size=batch_size,
            sanity_images=sanity_images,
            device=dev,
            seed=seed,
            progress=on_progress,
        )
    wall = time.perf_counter() - start
    meta = {
        "dataset": str(dataset),
        "model": loaded.name,
        "images": len(items),
        "steps": steps,
        "sanity_images": sanity_images,
        "road_fractions": fractions,
        "seed": seed,
        "wall_seconds": round(wall, 1),
        "torch_threads": torch.get_num_threads(),
        "skipped": ds.skipped,
    }
    paths = write_evaluation(report, out, meta)
    console.print((out / "evaluation.md").read_text(), highlight=False, markup=False)
    console.print(f"wall time {wall:.1f} s; wrote {', '.join(str(p) for p in paths)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
