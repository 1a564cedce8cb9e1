"""``netloupe serve``: the web app on http://127.0.0.1:8000 (FastAPI + uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._console import console, fail

__all__ = ["register"]


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it to this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma-separated zoo models to serve (default: all).")
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model-dir",
            help="Also serve each NAME.json in this folder: a state dict (NAME.pth) with its torchvision/timm "
            'architecture, e.g. {"arch": "resnet18", "class_names": [...]}.',
        ),
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.1, help="Upload size limit in MB.")] = 20.0,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Per-request time limit in seconds; late work is cancelled.")
    ] = 60.0,
    max_concurrent: Annotated[
        int, typer.Option(min=1, help="Uploads decoded or explained at once; up to 16 more wait, then 503.")
    ] = 2,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
) -> None:
    """Start the web app: upload an image, a scan or a sentence and see where the model looked."""
    try:
        import uvicorn

        from ..web import Settings, create_app
    except ImportError as exc:
        fail(f"serve: the web extra is not installed ({exc.name}); pip install 'netloupe[web]'")
    names = tuple(n.strip() for n in models.split(",") if n.strip()) if models else None
    settings = Settings(
        host=host,
        port=port,
        models=names,
        model_dir=model_dir,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        request_timeout_s=timeout,
        max_concurrent=max_concurrent,
        device=device,
    )
    app = create_app(settings)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] serving on {host}: other machines can reach it (no authentication)")
    console.print(f"netloupe web app on [bold]http://{host}:{port}/[/] (API: /api-docs, /openapi.json); Ctrl+C stops")
    uvicorn.run(app, host=host, port=port, log_level="info", limit_concurrency=64, timeout_keep_alive=5)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
