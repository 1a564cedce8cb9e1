"""``netloupe render STORE``: overlay PNGs from a Zarr map store written by ``netloupe run --store``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._console import console, progress

__all__ = ["register"]


def render_command(
    store: Annotated[Path, typer.Argument(help="A map store written by netloupe run --store.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("netloupe-render"),
    ids: Annotated[str | None, typer.Option(help="Comma-separated item ids (default: every finished item).")] = None,
    methods: Annotated[str | None, typer.Option(help="Comma-separated methods (default: all in the store).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N items.")] = None,
) -> None:
    """Draw the stored maps over their inputs, at each input's own size."""
    from ..errors import InputError
    from ..pipeline.render import render_store

    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} is a file; give a folder")
    id_list = [i.strip() for i in ids.split(",") if i.strip()] if ids else None
    method_list = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    with progress() as bar:
        task = bar.add_task("rendering", total=len(id_list) if id_list else limit)
        written = render_store(
            store, out, ids=id_list, methods=method_list, limit=limit, on_progress=lambda n: bar.advance(task, n)
        )
    console.print(f"wrote {len(written)} overlays under {out}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("render")(render_command)
