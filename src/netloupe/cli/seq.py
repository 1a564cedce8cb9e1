"""``netloupe seq``: train, evaluate and explain sequence models (sentences, ECG beats, digit rows)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..io.atomic import atomic_write, atomic_write_text
from ._console import console, fail

__all__ = ["register"]

seq_app = typer.Typer(
    help="Sequence models: RNN/LSTM training, scores and explanations over time.", no_args_is_help=True
)


@seq_app.command("train")
def train(
    task: str = typer.Argument(..., help="sentiment | atis | ecg200-lstm | ecg200-cnn | digits"),
    data: Path | None = typer.Option(None, help="dataset folder (default: the shared data folder)"),
    out: Path = typer.Option(Path("seq-models"), help="folder for the checkpoint TASK.pt"),
    epochs: int = typer.Option(0, help="epochs (0 = the recipe's default)"),
    seed: int = typer.Option(0),
    threads: int = typer.Option(1, help="torch CPU threads"),
) -> None:
    """Train one task with its recipe and print its test score."""
    import torch

    from ..sequence.checkpoint import save_bundle
    from ..sequence.recipes import run_task

    torch.set_num_threads(threads)
    res = run_task(task, data, epochs=epochs, seed=seed, log=console.print)
    path = save_bundle(res.bundle, out / f"{task}.pt")
    shown = ", ".join(f"{k} {v:.2f}" for k, v in res.metrics.items() if k != "best_epoch")
    console.print(f"[bold]{task}[/]: {shown}  ({res.split})")
    console.print(f"checkpoint: {path}")


@seq_app.command("evaluate")
def evaluate(
    out: Path = typer.Option(Path("results/sequence"), help="folder for scores, tables and figures"),
    models: Path = typer.Option(Path("seq-models"), help="folder for the trained checkpoints"),
    data: Path | None = typer.Option(None, help="the shared data folder (holding atis/, ecg200/, ...)"),
    task: list[str] = typer.Option([], help="tasks to run (default: all)"),
    ship: Path | None = typer.Option(None, help="also write the shippable models (sentiment, digits) here"),
    seed: int = typer.Option(0),
    figures_only: bool = typer.Option(False, help="only redraw the figures from the checkpoints in --models"),
    extra_seeds: int = typer.Option(4, help="further seeds per task (not ATIS) to report the spread"),
) -> None:
    """Train every task, score it on its test split, measure faithfulness and draw the figures."""
    from .._paths import shared_data_dir
    from ..sequence.evaluate import evaluate_tasks
    from ..sequence.recipes import TASKS

    root = data or shared_data_dir()
    if root is None:
        fail("data: no shared data folder found; pass --data")
    evaluate_tasks(
        out,
        models,
        root,
        tasks=task or list(TASKS),
        seed=seed,
        ship_dir=ship,
        log=console.print,
        figures_only=figures_only,
        extra_seeds=extra_seeds,
    )
    console.print(f"wrote {out}")


@seq_app.command("explain")
def explain(
    input: str = typer.Argument(
        ..., help="a sentence (text models); for ECG models a beat file .npy/.txt/.csv or a WFDB record"
    ),
    model: str = typer.Option("sentiment", "--model", "-m", help="shipped model name or checkpoint path"),
    method: str = typer.Option(
        "integrated_gradients", help="integrated_gradients | gradient_x_input | occlusion | gradcam"
    ),
    out: Path | None = typer.Option(None, help="write the view here (.html for text, .png for signals)"),
    resample: bool = typer.Option(False, help="resample a signal of another length to the model's length"),
    gates: Path | None = typer.Option(None, help="text LSTMs: also write a PNG heatmap of gates/states per token"),
    start: float = typer.Option(0.0, help="WFDB records: first second of the window explained beat by beat"),
    seconds: float = typer.Option(10.0, help="WFDB records: length of that window in seconds"),
) -> None:
    """Explain one input: a sentence -> label (+ slots) with coloured tokens; an ECG beat -> class + plot."""
    from ..sequence.checkpoint import load_bundle

    bundle = load_bundle(model)
    if bundle.kind == "text":
        _explain_text(bundle, input, method, out, gates)
    elif bundle.kind == "signal" and Path(input).with_suffix(".hea").is_file():
        _explain_record(bundle, Path(input), method, out, start, seconds)
    elif bundle.kind == "signal":
        _explain_signal(bundle, Path(input), method, out, resample)
    else:
        fail(f"model: {model!r} reads {bundle.kind}; use the library (netloupe.sequence) to explain it")


@seq_app.command("translate")
def translate_cmd(
    text: str = typer.Argument(..., help='a date in words, e.g. "Tuesday 12 March 1999" (en, fr or de)'),
    model: str = typer.Option("date-translator", "--model", "-m", help="shipped model name or checkpoint path"),
    method: str = typer.Option("integrated_gradients", help="integrated_gradients | gradient_x_input"),
    out: Path = typer.Option(Path("translation.png"), help="PNG: attention and attribution per output character"),
) -> None:
    """Translate a date to ISO 8601 and draw, per output character, its attention row and attribution."""
    from ..sequence.translate_explain import explain_translation
    from ..sequence.translate_train import load_translator

    if out.suffix.lower() != ".png":
        fail(f"out: expected a .png file, got {str(out)!r}")
    e = explain_translation(load_translator(model), text, method)
    console.print(f"[bold]{e.output}[/]  <-  {e.source!r}")
    for ch, att, attr in zip(e.output, e.attention, e.attribution, strict=True):
        top_a, top_g = int(att.argmax()), int(abs(attr).argmax())
        console.print(
            f"  {ch}: attention peaks at {e.source[top_a]!r} (pos {top_a}, {att[top_a]:.2f}); "
            f"{method} peaks at {e.source[top_g]!r} (pos {top_g})"
        )
    _save_figure(e.plot(), out)


@seq_app.command("train-translate")
def train_translate(
    out: Path = typer.Option(Path("results/translate"), help="folder for scores.{json,md} and example.png"),
    ship: Path | None = typer.Option(None, help="write the checkpoint here (e.g. src/netloupe/models/data)"),
    seed: int = typer.Option(0),
    epochs: int = typer.Option(3),
    threads: int = typer.Option(1, help="torch CPU threads"),
    reuse: bool = typer.Option(False, help="evaluate the checkpoint an earlier run of this command wrote"),
) -> None:
    """Train the date translator (fixed seed), score it on unseen dates and formats, measure alignment."""
    import torch

    from ..sequence.translate_report import run_translate_experiment

    torch.set_num_threads(threads)
    run_translate_experiment(out, ship, seed=seed, epochs=epochs, log=console.print, reuse=reuse)
    console.print(f"wrote {out}")


def _explain_text(bundle: object, text: str, method: str, out: Path | None, gates: Path | None) -> None:
    from ..sequence.explain import explain_text
    from ..sequence.views import tokens_html, tokens_rich

    e = explain_text(bundle, text, method=method)  # type: ignore[arg-type]
    console.print(f"[bold]{e.label}[/] (p = {e.probability:.3f}), {method}; red = for, blue = against")
    console.print(tokens_rich(e.tokens, e.attribution, e.slots))
    if any(e.unknown):
        unknown = ", ".join(t for t, u in zip(e.tokens, e.unknown, strict=True) if u)
        console.print(f"[yellow]note:[/] unknown words read as <unk>: {unknown}")
    if e.slots is not None:
        for pos, attr in e.slot_attributions.items():
            console.print(f"slot {e.slots[pos]} at '{e.tokens[pos]}':", tokens_rich(e.tokens, attr))
    if out is not None:
        _write_atomic(out, "<meta charset='utf-8'>" + tokens_html(e.tokens, e.attribution, e.slots, e.unknown))
        console.print(f"wrote {out}")
    if gates is not None:
        import torch

        from ..sequence.inspect import lstm_states
        from ..sequence.views import plot_state_heatmaps

        tok = torch.tensor([bundle.vocab.encode(e.tokens)])  # type: ignore[attr-defined]
        fig = plot_state_heatmaps(lstm_states(bundle.model, tok).gates(), e.tokens)  # type: ignore[attr-defined]
        _save_figure(fig, gates)


def _explain_signal(bundle: object, path: Path, method: str, out: Path | None, resample: bool) -> None:
    from ..sequence.explain import explain_signal
    from ..sequence.io import read_signal_file
    from ..sequence.views import plot_attribution_trace

    e = explain_signal(bundle, read_signal_file(path), method=method, resample=resample)  # type: ignore[arg-type]
    probs = ", ".join(f"{n} {p:.3f}" for n, p in zip(bundle.labels, e.probabilities.tolist(), strict=True))  # type: ignore[attr-defined]
    console.print(f"[bold]{e.label}[/] (p = {e.probability:.3f}; {probs}), {method}")
    target = out or path.with_name(path.stem + f"_{method}.png")
    fig = plot_attribution_trace(
        e.signal[0],
        e.attribution,
        title=f"{e.label} ({e.probability:.2f}), {method}",
        signed=method != "gradcam",
    )
    _save_figure(fig, target)


def _explain_record(bundle: object, path: Path, method: str, out: Path | None, start: float, seconds: float) -> None:
    from collections import Counter

    from ..sequence.explain import explain_record
    from ..sequence.views import plot_record_strip

    e = explain_record(bundle, path, method=method, start_s=start, seconds=seconds)  # type: ignore[arg-type]
    sel = slice(e.first, e.first + len(e.labels))
    counts = ", ".join(f"{k} {v}" for k, v in Counter(e.labels).items())
    truth = e.beats.symbols[sel]
    console.print(f"{len(e.labels)} beats between {start:.0f} s and {start + seconds:.0f} s: {counts}")
    for i, (lab, sym) in enumerate(zip(e.labels, truth, strict=True)):
        t = e.beats.samples[e.first + i] / e.beats.fs
        p = float(e.probabilities[i].max())
        console.print(f"  beat at {t:7.2f} s  annotated {sym}  predicted {lab} (p = {p:.2f})")
    fig = plot_record_strip(
        e.beats.signal,
        e.beats.fs,
        e.beats.windows[sel],
        [a.numpy() for a in e.attributions],
        [lab[:6] for lab in e.labels],
        truth=truth,
        start_s=start,
        seconds=seconds,
    )
    _save_figure(fig, out or path.with_name(path.stem + f"_{method}_beats.png"))


def _write_atomic(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _save_figure(fig: object, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, bbox_inches="tight"), keep_suffix=True)  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]
    console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the ``seq`` command group."""
    app.add_typer(seq_app, name="seq")
