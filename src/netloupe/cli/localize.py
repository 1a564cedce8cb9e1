"""``netloupe localize DATASET``: localization error tables, shaped like the CAM / Grad-CAM papers' tables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ..models.zoo import DEFAULT_MODEL
from ._console import console, progress
from ._options import load_cli_model, parse_device

__all__ = ["parse_eval_methods", "register"]

DEFAULT_METHODS = "cam,gradcam,gradcam++,layercam,scorecam,backprop,center"


def parse_eval_methods(text: str) -> list[str]:
    """CAM registry names plus the evaluation baselines (backprop, center, random, sobel)."""
    from ..cam.registry import get_method
    from ..errors import InputError
    from ..evaluation.studies.localization import BASELINES

    names = [t for t in (s.strip() for s in text.split(",")) if t]
    if not names:
        raise InputError("--method: expected a comma-separated list of methods")
    return [n if n in BASELINES else get_method(n).name for n in names]


def localize_command(
    dataset: Annotated[Path, typer.Argument(help="Folder: images/, labels.csv, boxes.csv or masks/.")],
    boxes: Annotated[str | None, typer.Option(help="CSV image,x0,y0,x1,y1 (DATASET/boxes.csv).")] = None,
    labels: Annotated[str | None, typer.Option(help="Labels CSV (default DATASET/labels.csv).")] = None,
    images: Annotated[str | None, typer.Option(help="Image folder (default DATASET/images).")] = None,
    masks: Annotated[str | None, typer.Option(help="Mask folder (labels CSV names masks).")] = None,
    label_column: Annotated[str, typer.Option(help="Column with the class index.")] = "class_index",
    mask_column: Annotated[str, typer.Option(help="Column with the mask file.")] = "mask",
    method: Annotated[str, typer.Option("--method", help="Methods and baselines.")] = DEFAULT_METHODS,
    model: Annotated[str, typer.Option("--model", "-m", help="Zoo name or model file.")] = DEFAULT_MODEL,
    arch: Annotated[str | None, typer.Option(help="Architecture for --checkpoint.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="State-dict file for --arch.")] = None,
    trust_pickle: Annotated[bool, typer.Option(help="Allow a pickled model.")] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("netloupe-localize"),
    batch_size: Annotated[int, typer.Option(min=1, help="Images per batch.")] = 16,
    subset: Annotated[int, typer.Option(min=1, help="Seeded subset (Score-CAM).")] = 100,
    only_subset: Annotated[bool, typer.Option(help="Evaluate only the seeded subset (every method).")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N usable items.")] = None,
    maxboxacc: Annotated[bool, typer.Option(help="Compute MaxBoxAccV2.")] = True,
    maxboxacc_step: Annotated[float, typer.Option(min=0.001, max=0.5, help="Threshold step.")] = 0.01,
    seed: Annotated[int, typer.Option(help="Seed of the subset and the random baseline.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    threads: Annotated[int | None, typer.Option(min=1, help="torch CPU threads.")] = None,
) -> None:
    """Score maps against ground-truth boxes or masks: top-1/top-5/GT-known localization error,
    MaxBoxAccV2, pointing game (and PxAP, PIoU, energy inside masks)."""
    import torch

    from ..evaluation.studies.localization import run_localization, write_tables
    from ..io.annotations import read_localization_dataset

    if threads is not None:
        torch.set_num_threads(threads)
    methods = parse_eval_methods(method)
    dev = parse_device(device)
    ds = read_localization_dataset(
        dataset,
        images=images,
        labels=labels,
        boxes=boxes,
        masks=masks,
        label_column=label_column,
        mask_column=mask_column,
    )
    for line in ds.skipped:
        console.print(f"[yellow]skipped[/] {line}", highlight=False, markup=True)
    items = ds.items[:limit] if limit else ds.items
    if only_subset:
        import random

        # the same choice as run_localization's subset (one group: keys (0, i)), so tables line up
        k = min(subset, len(items))
        chosen = sorted(i for _, i in random.Random(seed).sample([(0, i) for i in range(len(items))], k))
        items = [items[i] for i in chosen]
    console.print(f"{len(items)} item(s) to evaluate, {len(ds.skipped)} skipped", highlight=False)
    loaded = load_cli_model(model, arch, checkpoint, trust_pickle)
    start = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("localizing", total=len(items))

        def on_progress(_desc: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = run_localization(
            loaded,
            items,
            methods,
            batch_size=batch_size,
            device=dev,
            scorecam_subset=subset,
            maxboxacc=maxboxacc,
            maxboxacc_step=maxboxacc_step,
            seed=seed,
            example_dir=out,
            progress=on_progress,
        )
    wall = time.perf_counter() - start
    report.skipped = ds.skipped + report.skipped
    meta = {
        "dataset": str(dataset),
        "model": loaded.name,
        "methods": methods,
        "items": len(items),
        "subset": report.subset_size,
        "seed": seed,
        "maxboxacc_step": maxboxacc_step,
        "wall_seconds": round(wall, 1),
        "torch_threads": torch.get_num_threads(),
        "device": str(dev),
    }
    columns = "masks" if ds.has_masks else "boxes"
    paths = write_tables(report, out, "localization", meta, columns=columns)
    console.print((out / "localization.md").read_text(), highlight=False, markup=False)
    console.print(f"wall time {wall:.1f} s; wrote {', '.join(str(p) for p in paths)}", highlight=False)
    if report.examples:
        console.print(f"examples: {report.examples}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("localize")(localize_command)
