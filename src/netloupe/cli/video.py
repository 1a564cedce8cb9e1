"""``netloupe video``: action recognition from video on moving digits (train, score, explain over space and time)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._console import console

__all__ = ["register"]

_CLASSES = ("left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top", "circle", "bounce")

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


@video_app.command("explain")
def explain(
    label: str = typer.Option("circle", help="the class of the clip to explain: " + ", ".join(_CLASSES)),
    clip: int = typer.Option(0, min=0, max=79, help="which clip of that class (0-79) in the generated test set"),
    seed: int = typer.Option(1000, help="seed of the generated test set (1000 = the scored one)"),
    out: Path = typer.Option(Path("video_explain.png"), help="strip PNG: frames and both models' maps"),
    arrays: Path | None = typer.Option(None, help="also write the clip and the maps as .npz"),
    gif: Path | None = typer.Option(None, help="also write an animated GIF: frame | CNN+LSTM map | Conv3d map"),
) -> None:
    """Explain one generated clip with both shipped models: classes, per-frame labels, Grad-CAM strip."""
    import numpy as np

    from ..io.atomic import atomic_write
    from ..video.data import CLASSES, VideoSet, make_video_set
    from ..video.explain import explain_clips, load_shipped_video_models, pointing_game
    from ..video.views import plot_strip
    from ._console import fail

    if label not in CLASSES:
        fail(f"label: expected one of {', '.join(CLASSES)}, got {label!r}")
    if out.suffix.lower() != ".png":
        fail(f"out: expected a .png file, got {str(out)!r}")
    data = make_video_set(480, seed, frames=16, digits_slice=slice(1300, None))  # as `netloupe video train` tests
    index = int(np.flatnonzero(data.labels == CLASSES.index(label))[clip])
    pick = slice(index, index + 1)
    one = VideoSet(
        data.videos[pick], data.labels[pick], data.moving[pick], data.boxes[pick], data.distractor_boxes[pick]
    )
    models = load_shipped_video_models()
    maps = explain_clips(models, one)
    import torch

    x = torch.from_numpy(one.videos)[:, :, None]
    with torch.no_grad():
        lstm_logits, frame_logits, _ = models["cnn_lstm"].forward_all(x)  # type: ignore[operator]
        c3d_logits = models["conv3d"](x.permute(0, 2, 1, 3, 4))
    console.print(f"clip: [bold]{label}[/] (test clip {index}, seed {seed})")
    for name, logits in (("cnn_lstm", lstm_logits), ("conv3d", c3d_logits)):
        p = torch.softmax(logits, 1)[0]
        hits = pointing_game(maps[name], one.boxes)[0]
        console.print(
            f"  {name}: predicts {CLASSES[int(p.argmax())]} (p = {float(p.max()):.3f}); Grad-CAM peak on the moving "
            f"digit in {int(hits[one.moving[0]].sum())}/{int(one.moving[0].sum())} moving frames"
        )
    moving = "".join("M" if m else "." for m in one.moving[0])
    predicted = "".join("M" if m else "." for m in frame_logits.argmax(-1)[0].bool().tolist())
    console.print(f"  per-frame moving digit in view (M) or not (.): truth {moving}, cnn_lstm {predicted}")
    fig = plot_strip(one.videos, maps, [0], one, [label])
    atomic_write(out, lambda p: fig.savefig(p, dpi=90, format="png"))
    import matplotlib.pyplot as plt

    plt.close(fig)
    console.print(f"wrote {out}")
    if gif is not None:
        from ..io.atomic import atomic_write_bytes
        from ..video.views import gif_bytes

        atomic_write_bytes(gif, gif_bytes(one.videos[0], {k: v[0] for k, v in maps.items()}))
        console.print(f"wrote {gif}")
    if arrays is not None:

        def write(p: Path) -> None:
            with open(p, "wb") as fh:
                np.savez_compressed(
                    fh,
                    video=one.videos[0],
                    boxes=one.boxes[0],
                    moving=one.moving[0],
                    cnn_lstm=maps["cnn_lstm"][0],
                    conv3d=maps["conv3d"][0],
                )

        atomic_write(arrays, write)
        console.print(f"wrote {arrays}")


def register(app: typer.Typer) -> None:
    """Add the ``video`` command group."""
    app.add_typer(video_app, name="video")
