"""``netloupe run DATASET``: explain a whole image folder or CSV listing, resumably.

Exit status: 0 when every item was explained; 2 when some items failed (they are listed in the summary
and in ``manifest.json``; the others are written), on a usage error or a broken job (bad model, layer
or method); 130 when interrupted (re-run the same command to resume).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .._progress import ProgressLike
from ..cam.attention_choice import DEFAULT_METHOD
from ..models.zoo import DEFAULT_MODEL
from ._console import console, progress
from ._model_options import LayoutOption, OutputOption, parse_layout, parse_output
from ._options import METHODS_HELP, Threads, load_cli_model, parse_device, parse_methods, set_threads

__all__ = ["register"]

_MAX_LISTED_FAILURES = 20


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} img/s" if speed else "-- img/s")


def run_command(
    dataset: Annotated[Path, typer.Argument(help="Image folder (searched recursively) or a CSV listing images.")],
    methods: Annotated[str, typer.Option("--methods", "--method", help=METHODS_HELP)] = "auto",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (re-run into it to resume).")] = Path(
        "netloupe-run"
    ),
    model: Annotated[str, typer.Option("--model", "-m", help="Zoo name or model file.")] = DEFAULT_MODEL,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Explain the k most probable classes.")] = 1,
    layer: Annotated[str | None, typer.Option("--layer", help="Target layer (default: the model's).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Images per pass.")] = 16,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, help="Decoding processes (local); actors (ray).", show_default="auto from the usable cores"
        ),
    ] = None,
    writers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Threads writing files (per actor on ray).", show_default="auto from the usable cores"
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="Write the maps into one chunked Zarr store (e.g. maps.zarr; opens with xarray)."),
    ] = None,
    store_dtype: Annotated[str, typer.Option(help="float16 or float32 maps in the store.")] = "float16",
    overlays: Annotated[
        str | None,
        typer.Option(help="all or none: overlay PNGs per item.", show_default="all; none with --store"),
    ] = None,
    engine: Annotated[str, typer.Option(help="local or ray.")] = "local",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N images.")] = None,
    root: Annotated[Path | None, typer.Option(help="Folder that relative CSV paths start from.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N (local engine).")] = "auto",
    arch: Annotated[str | None, typer.Option(help="torchvision/timm architecture for --checkpoint.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="State-dict file for --arch.")] = None,
    trust_pickle: Annotated[bool, typer.Option(help="Allow loading a full pickled model (runs code).")] = False,
    threads: Threads = None,
    layout: LayoutOption = "auto",
    output: OutputOption = None,
) -> None:
    """Explain every input of DATASET; a journal and a manifest go to --out, maps to files or a --store."""
    from ..errors import InputError
    from ..runner import run_dataset
    from ..runner.resources import resolve_parallelism

    if engine not in ("local", "ray"):
        raise InputError(f"--engine: expected local or ray, got {engine!r}")
    if overlays not in (None, "all", "none"):
        raise InputError(f"--overlays: expected all or none, got {overlays!r}")
    method_list = parse_methods(methods)
    dev = parse_device(device)
    set_threads(threads)
    loaded = load_cli_model(model, arch, checkpoint, trust_pickle)
    eng: Literal["local", "ray"] = "ray" if engine == "ray" else "local"
    workers, writers = resolve_parallelism(eng, workers, writers)
    if eng == "local":
        console.print(f"[dim]decoding: {workers} workers, writing: {writers} threads[/]", highlight=False)
    else:
        actors = {None: "auto (one per GPU, else from the cluster's CPUs)", 0: "one per GPU, else 2"}.get(
            workers, str(workers)
        )
        console.print(f"[dim]actors: {actors}, writing: {writers} threads per actor[/]", highlight=False)
    bar: ProgressLike = (
        progress()
        if not console.is_terminal
        else Progress(
            TextColumn("[bold]explaining"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
    )
    task = bar.add_task("explaining", total=None)

    def on_start(todo: int, skipped: int) -> None:
        if skipped:
            console.print(f"resuming: {skipped} images already done, {todo} to go", highlight=False)
        bar.update(task, total=todo)

    with bar:
        summary = run_dataset(
            dataset,
            loaded,
            method_list,
            out,
            top_k=top_k,
            layer=layer,
            batch_size=batch_size,
            workers=workers,
            writers=writers,
            device=dev,
            engine=eng,
            limit=limit,
            root=root,
            store=store,
            store_dtype=store_dtype,
            overlays=overlays,  # type: ignore[arg-type]
            output=parse_output(output),
            layout=parse_layout(layout),
            on_start=on_start,
            on_progress=lambda n: bar.advance(task, n),
        )
    if summary.method_reason and summary.methods != (DEFAULT_METHOD,):  # say so when the choice is not Grad-CAM
        console.print(f"method: {', '.join(summary.methods)} ({summary.method_reason})", highlight=False)
    if store is not None:
        console.print(
            f"maps in {store} (xarray.open_zarr; draw overlays with: netloupe render {store})", highlight=False
        )
    console.print(
        f"{summary.done} explained ({summary.images_per_second:.2f} img/s), {summary.skipped} already done, "
        f"{len(summary.failed)} failed, of {summary.total}; wrote {summary.manifest}",
        highlight=False,
    )
    for f in summary.failed[:_MAX_LISTED_FAILURES]:
        console.print(f"  failed {f['source']}: {f['reason']}", markup=False, highlight=False)
    if len(summary.failed) > _MAX_LISTED_FAILURES:
        console.print(f"  ... and {len(summary.failed) - _MAX_LISTED_FAILURES} more (see the manifest)")
    if summary.interrupted:
        console.print(f"interrupted with {summary.pending} images to go; re-run the same command to resume")
        raise typer.Exit(130)
    if summary.failed:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
