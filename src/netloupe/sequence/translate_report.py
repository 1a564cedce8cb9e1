"""The date-translation experiment end to end: train (fixed seed), score on unseen dates and unseen formats,
measure alignment of attention and gradient attributions, write results/translate/ and ship the weights.

Run by ``netloupe seq train-translate`` (see results/translate/README.md).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..io.atomic import atomic_write_json, atomic_write_text
from .translate_data import HELD_OUT_FORMATS, TRAIN_FORMATS, make_splits
from .translate_explain import evaluate_alignment, explain_translation
from .translate_train import (
    SHIPPED_FILE,
    exact_match,
    load_translator,
    save_translator,
    train_translator,
    translate,
)

__all__ = ["run_translate_experiment"]

_EXAMPLE = "Tuesday 12 March 1999"


def _per_format(bundle: Any, pairs: list[Any]) -> dict[str, float]:
    preds = translate(bundle, [p.source for p in pairs])
    out: dict[str, list[bool]] = {}
    for pred, p in zip(preds, pairs, strict=True):
        out.setdefault(f"{p.locale} {p.fmt}", []).append(pred == p.target)
    return {k: sum(v) / len(v) for k, v in sorted(out.items())}


def run_translate_experiment(
    out: Path,
    ship: Path | None = None,
    seed: int = 0,
    epochs: int = 3,
    n_train: int = 30_000,
    n_align: int = 500,
    log: Callable[[str], None] = print,
    reuse: bool = False,
) -> dict[str, Any]:
    """Train (or with ``reuse`` load the checkpoint an earlier run wrote), evaluate, and write
    ``out/scores.{json,md}``, ``out/example.png`` and the checkpoint."""
    ckpt = (ship or out) / SHIPPED_FILE
    splits = make_splits(seed, n_train=n_train)
    if reuse and ckpt.is_file():  # evaluate a checkpoint this command trained before (same seed and data)
        bundle = load_translator(ckpt)
        log(f"reusing {ckpt}")
    else:
        start = time.perf_counter()
        bundle, _ = train_translator(seed=seed, epochs=epochs, splits=splits, log=log)
        bundle.metrics["train_seconds"] = time.perf_counter() - start
        save_translator(bundle, ckpt)
        log(f"checkpoint: {ckpt}")
    train_s = bundle.metrics["train_seconds"]
    scores: dict[str, Any] = {
        "task": "human-readable dates (en/fr/de) -> ISO 8601, character level",
        "seed": seed,
        "epochs": epochs,
        "n_train": len(splits.train),
        "train_seconds": round(train_s, 1),
        "parameters": sum(p.numel() for p in bundle.model.parameters()),
        "exact_match": {
            "val": bundle.metrics["val_exact_match"],
            "test_unseen_dates": exact_match(bundle, splits.test),
            "test_unseen_formats": exact_match(bundle, splits.test_formats),
        },
        "n_test": len(splits.test),
        "n_test_formats": len(splits.test_formats),
        "per_held_out_format": _per_format(bundle, splits.test_formats),
    }
    log(f"exact match: {scores['exact_match']}")
    scores["alignment"] = {
        "test_unseen_dates": evaluate_alignment(bundle, splits.test[:n_align]),
        "test_unseen_formats": evaluate_alignment(bundle, splits.test_formats[:n_align]),
    }
    scores["machine"] = (
        f"{platform.machine()} CPU, {os.cpu_count()} cores (shared VM), torch {torch.__version__}, 1 thread"
    )
    scores["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    bundle.metrics.update({f"exact_match_{k}": v for k, v in scores["exact_match"].items() if k != "val"})
    bundle.card = (
        "Date translator: char BiLSTM encoder + LSTM decoder with Luong attention; synthetic en/fr/de dates "
        f"(netloupe.sequence.translate_data, seed {seed}); exact match "
        f"{scores['exact_match']['test_unseen_dates']:.3f} on unseen dates, "
        f"{scores['exact_match']['test_unseen_formats']:.3f} on unseen formats."
    )
    out.mkdir(parents=True, exist_ok=True)
    save_translator(bundle, ckpt)
    atomic_write_json(out / "scores.json", scores)
    atomic_write_text(out / "scores.md", _markdown(scores))
    from .translate_data import render_date

    pair = render_date(dt.date(1999, 3, 12), "{wd} {d} {Month} {yyyy}")  # a Friday; the weekday is ignored
    fig = explain_translation(bundle, pair.source, "integrated_gradients", pair=pair).plot()
    fig.savefig(out / ".example.tmp.png", dpi=100)
    (out / ".example.tmp.png").replace(out / "example.png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return scores


def _markdown(s: dict[str, Any]) -> str:
    em = s["exact_match"]
    lines = [
        "# Date translation with attention (many-to-many), explained",
        "",
        f"Command: `netloupe seq train-translate` (seed {s['seed']}, {s['epochs']} epochs, "
        f"{s['n_train']} training pairs, {s['parameters']} parameters, {s['train_seconds']:.0f} s training).",
        f"Machine: {s['machine']}. Date: {s['date']}.",
        "",
        "Training formats: "
        + "; ".join(f"{k}: {len(v)}" for k, v in TRAIN_FORMATS.items())
        + ". Held-out formats (never trained on): "
        + ", ".join(f"`{f}` ({k})" for k, v in HELD_OUT_FORMATS.items() for f in v)
        + ".",
        "Test dates: every 10th calendar day 1950-2049, never seen in training in any format.",
        "",
        "## Exact match (whole ISO date correct)",
        "",
        "| split | n | exact match |",
        "|---|---|---|",
        f"| validation (training formats, training dates) | 1000 | {em['val']:.4f} |",
        f"| test: training formats, unseen dates | {s['n_test']} | {em['test_unseen_dates']:.4f} |",
        f"| test: unseen formats, unseen dates | {s['n_test_formats']} | {em['test_unseen_formats']:.4f} |",
        "",
        "Per held-out format:",
        "",
        "| locale format | exact match |",
        "|---|---|",
        *[f"| `{k}` | {v:.3f} |" for k, v in s["per_held_out_format"].items()],
        "",
        "## Alignment accuracy against the known alignment",
        "",
        "Per output digit (8 per date; dashes not scored), a map hits when its largest |value| over the source "
        "characters lies inside the source field that produces the digit (year digits <- year field, ...). "
        "Chance = mean field length / source length.",
        "",
        "| split | map | all | year | month | day |",
        "|---|---|---|---|---|---|",
    ]
    for split, res in s["alignment"].items():
        for name in ("attention", "gradient_x_input", "integrated_gradients"):
            r = res[name]
            lines.append(
                f"| {split} (n={res['n']}) | {name} | {r['all']:.3f} | {r['year']:.3f} | "
                f"{r['month']:.3f} | {r['day']:.3f} |"
            )
        lines.append(f"| {split} | chance | {res['chance']:.3f} | | | |")
    lines += ["", "Figure: `example.png` (attention and integrated gradients for one date, known spans in red).", ""]
    return "\n".join(lines)
