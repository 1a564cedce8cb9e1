"""``netloupe video``: action recognition from video on moving digits (train, score, explain over space and time)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._console import console

__all__ = ["register"]

video_app = typer.Typer(
    help="Video models (CNN + LSTM, Conv3d) on moving digits, with Grad-CAM over space and time.",
    no_args_is_help=True,
)


@video_app.command("train")
def train(
    out: Path = typer.Option(Path("results/video"), help="folder for scores.{json,md}, strip.png, maps arrays"),
    seed: int = typer.Option(0),
    epochs: int = typer.Option(8, min=1),
    n_train: int = typer.Option(1200, min=12, help="training clips"),
    n_test: int = typer.Option(480, min=12, help="test clips (other digit images, another seed)"),
    threads: int = typer.Option(1, help="torch CPU threads"),
    ship: Path | None = typer.Option(None, help="also write the weights here (e.g. src/netloupe/models/data)"),
) -> None:
    """Train both models (fixed seed), score them and their maps on an untouched test set, draw the strip."""
    import torch

    from ..video.train import run_video_experiment

    torch.set_num_threads(threads)
    r = run_video_experiment(
        out, seed=seed, n_train=n_train, n_test=n_test, epochs=epochs, log=console.print, ship=ship
    )
    for name, s in r["models"].items():
        g = s["gradcam"]
        console.print(
            f"[bold]{name}[/]: accuracy {s['accuracy']:.3f}; pointing (moving frames) "
            f"{g['pointing_moving_frames']:.3f} (chance {g['pointing_chance']:.3f}); temporal share "
            f"{g['temporal_share_moving']:.3f} (chance {g['temporal_share_chance']:.3f})"
        )
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the ``video`` command group."""
    app.add_typer(video_app, name="video")
