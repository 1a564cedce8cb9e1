"""Train every sequence task, score it, measure faithfulness and draw the figures of results/sequence/.

Checkpoints go to ``models_dir`` (never into the results folder: ATIS weights must not be shared);
only scores, tables and a few figures are written to ``out_dir``.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import torch

from ..attribution import ATTRIBUTION_METHODS
from ..errors import InputError
from .checkpoint import SequenceBundle, load_bundle, save_bundle
from .data import digits_rows, read_ecg200, read_sentiment, tokenize
from .explain import explain_record, explain_signal, explain_text, gradcam_over_time
from .faithfulness import DeletionCurves, deletion_vs_random
from .inspect import lstm_states
from .models import SignalCNN
from .recipes import TASKS, run_task
from .train import iterate_ids
from .views import plot_attribution_trace, plot_record_strip, plot_state_heatmaps

__all__ = ["evaluate_tasks", "faithfulness_table"]

Log = Callable[[str], None]


def _save_fig(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _text_faithfulness(bundle: SequenceBundle, data_dir: Path, method: str, limit: int) -> DeletionCurves:
    sentences, _, sources = read_sentiment(data_dir)
    pos: dict[str, int] = {}
    rows = []
    for i, s in enumerate(sources):
        pos[s] = pos.get(s, -1) + 1
        if pos[s] % 5 == 4:
            rows.append(i)
    if bundle.vocab is None:
        raise InputError(f"model: {bundle.task!r} has no vocabulary; expected a text model")
    ids = [bundle.vocab.encode(tokenize(sentences[i]) or ["<empty>"]) for i in rows[:limit]]
    _, tok, lengths = next(iterate_ids(ids, len(ids), False))
    model = bundle.model
    emb = model.embed(tok).detach()  # type: ignore[operator]
    with torch.no_grad():
        pred = model.forward_embedded(emb, lengths).argmax(1)  # type: ignore[operator]
    kwargs: dict[str, Any] = {"additional_args": (lengths,), "mask": tok != 0}
    attr = ATTRIBUTION_METHODS[method](model.forward_embedded, emb, pred.tolist(), **kwargs).per_step()[:, 0]

    def score(out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(out, -1).gather(1, pred[:, None])[:, 0]

    return deletion_vs_random(
        cast(Callable[..., Any], model.forward_embedded),
        emb,
        attr,
        score,
        lengths=lengths,
        additional_args=(lengths,),
    )


def _signal_faithfulness(bundle: SequenceBundle, x: torch.Tensor, method: str) -> DeletionCurves:
    model = bundle.model
    with torch.no_grad():
        pred = model(x).argmax(1)
    if method == "gradcam":
        attr = gradcam_over_time(model, x, pred.tolist())
    else:
        kwargs: dict[str, Any] = {"time_dim": -1} if method == "occlusion" else {}
        attr = ATTRIBUTION_METHODS[method](model, x, pred.tolist(), **kwargs).per_step(-1)[:, 0]

    def score(out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(out, -1).gather(1, pred[:, None])[:, 0]

    return deletion_vs_random(model, x, attr, score, time_dim=-1)


def faithfulness_table(rows: Sequence[tuple[str, str, DeletionCurves]]) -> str:
    """A Markdown table: task, method, probability after each deleted fraction (attributed / random), AOPC."""
    fr = rows[0][2].fractions
    head = (
        "| task | method | "
        + " | ".join(f"p @ {f:.0%} deleted (attr / random)" for f in fr)
        + " | AOPC attr | AOPC random |"
    )
    lines = [head, "|" + "---|" * (len(fr) + 4)]
    for task, method, c in rows:
        cells = " | ".join(f"{a:.3f} / {r:.3f}" for a, r in zip(c.attributed, c.random, strict=True))
        lines.append(f"| {task} | {method} | {cells} | {c.aopc_attributed:.3f} | {c.aopc_random:.3f} |")
    return "\n".join(lines)


def evaluate_tasks(
    out_dir: str | Path,
    models_dir: str | Path,
    data_root: str | Path,
    tasks: Sequence[str] = tuple(TASKS),
    seed: int = 0,
    ship_dir: str | Path | None = None,
    log: Log = print,
    figures_only: bool = False,
    extra_seeds: int = 4,
) -> dict[str, Any]:
    """Train and score ``tasks``; write scores, faithfulness and figures to ``out_dir``.

    Args:
        ship_dir: where to also write the float16 weights of the permissively licensed models
            (sentiment, digits) that ship in the package (``src/netloupe/models/data``).
        figures_only: only redraw the figures from the checkpoints already in ``models_dir``.
        extra_seeds: also train every task but ATIS with this many further seeds and report the spread
            (the figures and shipped models use ``seed``).
    """
    torch.set_num_threads(1)
    out, models = Path(out_dir), Path(models_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(data_root)
    folders = {
        "sentiment": "sentiment-labelled-sentences",
        "atis": "atis",
        "ecg200-lstm": "ecg200",
        "ecg200-cnn": "ecg200",
        "digits": "",
    }
    scores: dict[str, Any] = {}
    bundles: dict[str, SequenceBundle] = {}
    if figures_only:
        bundles = {t: load_bundle(models / f"{t}.pt") for t in tasks if (models / f"{t}.pt").is_file()}
        _figures(out, bundles, root, log)
        return {t: b.metrics for t, b in bundles.items()}
    faith: list[tuple[str, str, DeletionCurves]] = []
    for task in tasks:
        start = time.perf_counter()
        res = run_task(task, root / folders[task] if folders[task] else None, seed=seed, log=log)
        bundles[task] = res.bundle
        save_bundle(res.bundle, models / f"{task}.pt")
        if ship_dir is not None and task in ("sentiment", "digits"):
            name = {"sentiment": "sentiment_lstm.pt", "digits": "digits_rowlstm.pt"}[task]
            save_bundle(res.bundle, Path(ship_dir) / name, half=True)
        scores[task] = {
            **{k: round(v, 2) for k, v in res.metrics.items()},
            "split": res.split,
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
        if extra_seeds and task != "atis":  # the spread over seeds (ATIS is too slow for this)
            accs = [res.metrics["accuracy"]]
            for s in range(seed + 1, seed + 1 + extra_seeds):
                accs.append(run_task(task, root / folders[task] if folders[task] else None, seed=s).metrics["accuracy"])
            t = torch.tensor(accs)
            scores[task]["seeds"] = f"{seed}-{seed + extra_seeds}"
            scores[task]["accuracy_all_seeds"] = [round(a, 2) for a in accs]
            scores[task]["accuracy_mean_over_seeds"] = round(float(t.mean()), 2)
            scores[task]["accuracy_sd_over_seeds"] = round(float(t.std()), 2)
        log(f"{task}: {scores[task]}")
    if "sentiment" in bundles:
        for method in ATTRIBUTION_METHODS:
            faith.append(
                (
                    "sentiment",
                    method,
                    _text_faithfulness(bundles["sentiment"], root / folders["sentiment"], method, 600),
                )
            )
    x_te = read_ecg200(root / "ecg200", "TEST")[0] if any(t.startswith("ecg200") for t in bundles) else None
    for task in ("ecg200-lstm", "ecg200-cnn"):
        if task in bundles and x_te is not None:
            methods = [*ATTRIBUTION_METHODS] + (["gradcam"] if isinstance(bundles[task].model, SignalCNN) else [])
            for method in methods:
                try:
                    faith.append((task, method, _signal_faithfulness(bundles[task], x_te, method)))
                except Exception as exc:  # e.g. the CAM engine is not merged yet
                    log(f"faithfulness {task}/{method} skipped: {exc}")
    _write_tables(out, scores, faith)
    _figures(out, bundles, root, log)
    return scores


def _write_tables(out: Path, scores: dict[str, Any], faith: list[tuple[str, str, DeletionCurves]]) -> None:
    (out / "scores.json").write_text(json.dumps(scores, indent=2) + "\n")
    lines = ["| task | metric | value | split |", "|---|---|---|---|"]
    for task, s in scores.items():
        for k, v in s.items():
            if k in ("split", "wall_seconds", "train_seconds", "best_epoch", "seeds"):
                continue
            shown = ", ".join(f"{a:.2f}" for a in v) if isinstance(v, list) else f"{v:.2f}"
            label = f"{k} (seeds {s['seeds']})" if "seeds" in k else k
            lines.append(f"| {task} | {label} | {shown} | {s['split']} |")
    md = "# Sequence tasks: test scores\n\n" + "\n".join(lines) + "\n"
    if faith:
        md += (
            "\n# Faithfulness: deleting top-attributed steps vs random steps\n\n"
            "Mean probability of the predicted class after replacing a fraction of the steps (tokens: zero "
            "embedding; ECG samples: 0) chosen by attribution or at random (5 random orders). Lower is "
            "better for attribution; AOPC = mean drop.\n\n" + faithfulness_table(faith) + "\n"
        )
        (out / "faithfulness.json").write_text(
            json.dumps(
                [
                    {
                        "task": t,
                        "method": m,
                        "fractions": c.fractions,
                        "attributed": c.attributed,
                        "random": c.random,
                    }
                    for t, m, c in faith
                ],
                indent=2,
            )
            + "\n"
        )
    md += f"\nMachine: {platform.machine()} CPU, torch {torch.__version__}, 1 thread.\n"
    (out / "scores.md").write_text(md)


def _figures(out: Path, bundles: dict[str, SequenceBundle], root: Path, log: Log) -> None:
    from .views import tokens_html

    if "sentiment" in bundles:
        b = bundles["sentiment"]
        sentences = [
            "The food was not good, but the service was excellent!",
            "Worst phone I ever bought, it broke in a week.",
        ]
        parts = []
        for s in sentences:
            e = explain_text(b, s)
            parts.append(
                f"<p>{e.label} ({e.probability:.2f})</p>" + tokens_html(e.tokens, e.attribution, unknown=e.unknown)
            )
        (out / "sentiment_tokens.html").write_text("<meta charset='utf-8'>" + "".join(parts))
        tok = torch.tensor([b.vocab.encode(tokenize(sentences[0]))])  # type: ignore[union-attr]
        trace = lstm_states(b.model, tok)
        fig = plot_state_heatmaps(
            trace.gates(),
            tokenize(sentences[0]),
            units=16,
            title="sentiment BiLSTM, forward direction: gates and states per token",
        )
        _save_fig(fig, out / "sentiment_gates.png")
    if "ecg200-cnn" in bundles:
        x, y = read_ecg200(root / "ecg200", "TEST")
        import matplotlib.pyplot as plt

        beats = [int((y == 0).nonzero()[0]), int((y == 1).nonzero()[0])]
        done: dict[str, list[Any]] = {}
        for m in ["integrated_gradients", "occlusion", "gradcam"]:
            try:
                done[m] = [explain_signal(bundles["ecg200-cnn"], x[i, 0], method=m) for i in beats]
            except Exception as exc:  # gradcam needs the CAM engine
                log(f"figure ecg200 {m} skipped: {exc}")
        fig, axes = plt.subplots(2, len(done), figsize=(4.6 * len(done), 5), squeeze=False)
        for col, (m, explanations) in enumerate(done.items()):
            for row, (idx, e) in enumerate(zip(beats, explanations, strict=True)):
                plot_attribution_trace(
                    e.signal[0],
                    e.attribution,
                    ax=axes[row, col],
                    signed=m != "gradcam",
                    title=f"{m}\nbeat {idx}: truth {_label(bundles, y[idx])}, "
                    f"predicted {_short(e.label)} ({e.probability:.2f})",
                )
        fig.tight_layout()
        _save_fig(fig, out / "ecg200_cnn_attribution.png")
        rec = root / "mitbih-record100" / "100"
        if (rec.parent / "100.hea").is_file():
            r = explain_record(bundles["ecg200-cnn"], rec, seconds=10.0)
            sel = slice(r.first, r.first + len(r.labels))
            fig = plot_record_strip(
                r.beats.signal,
                r.beats.fs,
                r.beats.windows[sel],
                [a.numpy() for a in r.attributions],
                [lab[:6] for lab in r.labels],
                truth=r.beats.symbols[sel],
                seconds=10.0,
            )
            _save_fig(fig, out / "mitbih100_beats.png")
    if "digits" in bundles:
        import matplotlib.pyplot as plt

        from ..attribution import integrated_gradients

        x, y = digits_rows()
        xs = x[1347:1352]
        model = bundles["digits"].model
        with torch.no_grad():
            pred = model(xs).argmax(1)
        attr = integrated_gradients(model, xs, pred.tolist()).values[:, 0]
        fig, axes = plt.subplots(2, 5, figsize=(10, 4.4))
        for i in range(5):
            axes[0, i].imshow(xs[i].numpy(), cmap="gray_r")
            axes[0, i].set_title(f"read row by row: {int(pred[i])}", fontsize=9)
            lim = float(attr[i].abs().max())
            axes[1, i].imshow(attr[i].numpy(), cmap="coolwarm", vmin=-lim, vmax=lim)
            axes[1, i].set_title("IG per pixel", fontsize=9)
            for ax in axes[:, i]:
                ax.axis("off")
        fig.tight_layout()
        _save_fig(fig, out / "digits_rowlstm_ig.png")


def _short(label: str) -> str:
    return "MI" if label == "myocardial infarction" else label


def _label(bundles: dict[str, SequenceBundle], y: torch.Tensor) -> str:
    return _short(bundles["ecg200-cnn"].labels[int(y)])
