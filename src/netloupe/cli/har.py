"""``netloupe har``: activity recognition from wearable sensors (TUG, UCI HAR): train, evaluate, explain."""

from __future__ import annotations

from pathlib import Path

import typer

from ..io.atomic import atomic_write
from ._console import console, fail

__all__ = ["register"]

har_app = typer.Typer(
    help="Activity recognition from wearables: LSTM / 1-D CNN, explained over time x channel.", no_args_is_help=True
)


def _folder(data: Path | None, name: str) -> Path:
    if data is not None:
        return data
    from .._paths import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / name).is_dir():
        fail(f"data: pass the {name} folder explicitly")
    return root / name


@har_app.command("train")
def train(
    task: str = typer.Argument(..., help="tug-lstm | tug-cnn | ucihar-lstm | ucihar-cnn"),
    data: Path | None = typer.Option(None, help="dataset folder (default: the shared data folder)"),
    out: Path = typer.Option(Path("out/har"), help="folder for the checkpoint TASK.pt"),
    epochs: int = typer.Option(0, help="epochs (0 = 25)"),
    seed: int = typer.Option(0),
) -> None:
    """Train one task (TUG: split by subject) and print its held-out scores."""
    import torch

    from ..sequence.checkpoint import save_bundle
    from ..sequence.har_tasks import train_har

    torch.set_num_threads(1)
    name = "tug-har-smartphone-subset" if task.startswith("tug") else "uci-har-subset"
    res = train_har(task, _folder(data, name), epochs, seed, log=console.print)
    path = save_bundle(res.bundle, out / f"{task}.pt")
    console.print(", ".join(f"{k} {v:.1f}" for k, v in res.metrics.items()))
    console.print(f"split: {res.split}\ncheckpoint: {path}")


@har_app.command("evaluate")
def evaluate(
    out: Path = typer.Option(Path("results/har"), help="folder for scores and figures"),
    models: Path = typer.Option(Path("out/har"), help="folder for the checkpoints"),
    tug: Path | None = typer.Option(None, help="tug-har-smartphone-subset folder"),
    uci: Path | None = typer.Option(None, help="uci-har-subset folder"),
    seed: int = typer.Option(0),
    epochs: int = typer.Option(0),
) -> None:
    """Train all four tasks, score them, explain sit-to-stand vs walk and check faithfulness."""
    import torch

    from ..sequence.har_evaluate import evaluate_har

    torch.set_num_threads(1)
    res = evaluate_har(
        out,
        models,
        _folder(tug, "tug-har-smartphone-subset"),
        _folder(uci, "uci-har-subset"),
        seed,
        epochs,
        log=console.print,
    )
    console.print((out / "scores.md").read_text())
    console.print(f"wrote {out} in {res['wall_seconds']:.0f} s")


@har_app.command("explain")
def explain(
    recording: Path = typer.Argument(..., help="a TUG recording sXX_YY_sp.csv(.gz)"),
    model: Path = typer.Option(Path("out/har/tug-cnn.pt"), "--model", "-m", help="TUG checkpoint"),
    method: str = typer.Option("integrated_gradients", help="integrated_gradients | occlusion | gradcam"),
    label: str = typer.Option("STANDING_UP", help="explain the window most confidently given this label"),
    out: Path = typer.Option(Path("har-explain.png"), help="PNG written"),
) -> None:
    """Window a recording, find the window most confidently classified as LABEL and draw its attribution."""
    import matplotlib.pyplot as plt
    import torch

    from ..sequence.checkpoint import load_bundle
    from ..sequence.har import TUG_LABELS, read_tug_recording, window_recording
    from ..sequence.har_explain import attribute_time_channel, signal_figure

    torch.set_num_threads(1)
    bundle = load_bundle(str(model))
    if bundle.meta.get("kind") != "har" or not bundle.task.startswith("tug"):
        fail(f"model: {model} is not a TUG activity model (train one with `netloupe har train tug-cnn`)")
    if label not in TUG_LABELS:
        fail(f"label: expected one of {TUG_LABELS}, got {label!r}")
    rec = read_tug_recording(recording)
    xw, _ = window_recording(rec, int(bundle.meta["window"]), 25)
    if len(xw) == 0:
        fail(f"recording: {recording} is shorter than one window ({bundle.meta['window']} samples)")
    mean = torch.tensor(bundle.meta["mean"])[None, :, None]
    std = torch.tensor(bundle.meta["std"])[None, :, None]
    x = (torch.from_numpy(xw) - mean) / std
    k = TUG_LABELS.index(label)
    with torch.no_grad():
        prob = torch.softmax(bundle.model(x), -1)[:, k]
    i = int(prob.argmax())
    att = attribute_time_channel(bundle.model, x[i : i + 1], [k], method)
    fig = signal_figure(
        x[i],
        att[0],
        bundle.meta["channels"],
        f"{recording.name} window at {i * 0.25:.2f} s: {label} p={float(prob[i]):.2f} ({method})",
    )
    try:
        atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=90), keep_suffix=True)  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]
    console.print(f"{label} p={float(prob[i]):.2f} at window {i}; wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``netloupe har``."""
    app.add_typer(har_app, name="har")
