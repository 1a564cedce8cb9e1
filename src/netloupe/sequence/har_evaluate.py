"""Train every activity task, score it, explain sit-to-stand vs walk over time x channel, check faithfulness."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..io.atomic import atomic_write
from .checkpoint import save_bundle
from .har import TUG_LABELS
from .har_explain import attribute_time_channel, deletion_check, signal_figure
from .har_tasks import HAR_TASKS, HarResult, train_har

__all__ = ["evaluate_har"]

Log = Callable[[str], None] | None
FOCUS = ("STANDING_UP", "WALKING")  # "sit-to-stand" vs "walk"


def _save(fig: object, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90), keep_suffix=True)  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]


def _explain_tug(res: HarResult, out: Path, arch: str, seed: int) -> dict[str, object]:
    model, x, y = res.bundle.model, res.x_test, res.y_test
    channels = res.bundle.meta["channels"]
    with torch.no_grad():
        pred = model(x).argmax(1)
    report: dict[str, object] = {}
    gen = torch.Generator().manual_seed(seed)
    methods = ["integrated_gradients", "occlusion"] + (["gradcam"] if arch == "cnn" else [])
    for name in FOCUS:
        k = TUG_LABELS.index(name)
        rows = torch.nonzero((y == k) & (pred == k))[:, 0]
        if len(rows) == 0:
            continue
        rows = rows[torch.randperm(len(rows), generator=gen)[:64]]
        xs, targets = x[rows], [k] * len(rows)
        entry: dict[str, object] = {"windows": len(rows)}
        for method in methods:
            att = attribute_time_channel(model, xs, targets, method)
            share = att.abs().sum(2) / att.abs().sum((1, 2), keepdim=True)[:, :, 0].clamp_min(1e-12)
            curves = deletion_check(model, xs, targets, att)
            entry[method] = {
                "channel_share_pct": {c: 100 * float(v) for c, v in zip(channels, share.mean(0), strict=True)},
                "deletion": {
                    "fractions": curves.fractions,
                    "attributed": curves.attributed,
                    "random": curves.random,
                    "aopc_attributed": curves.aopc_attributed,
                    "aopc_random": curves.aopc_random,
                },
            }
        ig = attribute_time_channel(model, xs[:1], targets[:1], "integrated_gradients")
        curve = attribute_time_channel(model, xs[:1], targets[:1], "gradcam")[0, 0] if arch == "cnn" else None
        prob = float(torch.softmax(model(xs[:1]).detach(), -1)[0, k])
        fig = signal_figure(
            xs[0],
            ig[0],
            channels,
            f"tug-{arch}: {name} (p={prob:.2f}), |Integrated Gradients| per channel and sample (z-scored signals)",
            curve=curve,
        )
        _save(fig, out / f"tug_{arch}_{name.lower()}.png")
        report[name] = entry
    return report


def evaluate_har(
    out: str | Path,
    models: str | Path,
    tug_dir: str | Path,
    uci_dir: str | Path | None,
    seed: int = 0,
    epochs: int = 0,
    log: Log = None,
) -> dict[str, object]:
    """Train the four tasks (``uci_dir`` None skips UCI HAR), write scores.md/json and figures to ``out``."""
    start = time.perf_counter()
    out, models = Path(out), Path(models)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    for task in HAR_TASKS:
        if task.startswith("ucihar") and uci_dir is None:
            continue
        res = train_har(task, tug_dir if task.startswith("tug") else uci_dir, epochs, seed, log)  # type: ignore[arg-type]
        save_bundle(res.bundle, models / f"{task}.pt")
        entry: dict[str, object] = {"metrics": res.metrics, "split": res.split}
        if task.startswith("tug"):
            entry["explanations"] = _explain_tug(res, out, task.split("-")[1], seed)
        results[task] = entry
        if log is not None:
            log(f"{task}: accuracy {res.metrics['accuracy']:.1f}%, macro-F1 {res.metrics['macro_f1']:.1f}%")
    results["wall_seconds"] = time.perf_counter() - start
    (out / "scores.json").write_text(json.dumps(results, indent=1))
    (out / "scores.md").write_text(_markdown(results))
    return results


def _markdown(results: dict[str, object]) -> str:
    lines = [
        "| task | accuracy | macro-F1 | " + " | ".join(f"F1 {n}" for n in TUG_LABELS) + " |",
        "|---|---:|---:|" + "---:|" * len(TUG_LABELS),
    ]
    for task, entry in results.items():
        if not isinstance(entry, dict):
            continue
        m = entry["metrics"]
        per = [f"{m[f'f1_{n}']:.1f}" if f"f1_{n}" in m else "–" for n in TUG_LABELS]
        lines.append(f"| {task} | {m['accuracy']:.1f} | {m['macro_f1']:.1f} | " + " | ".join(per) + " |")
    lines += ["", "Explanations (TUG test windows correctly classified; mean over up to 64 windows):", ""]
    lines += [
        "| model | class | method | top channel (share %) | AOPC top-attributed | AOPC random |",
        "|---|---|---|---|---:|---:|",
    ]
    for task, entry in results.items():
        if not isinstance(entry, dict) or "explanations" not in entry:
            continue
        for cls, e in entry["explanations"].items():
            for method, v in e.items():
                if not isinstance(v, dict):
                    continue
                ch = max(v["channel_share_pct"].items(), key=lambda kv: kv[1])
                d = v["deletion"]
                lines.append(
                    f"| {task} | {cls} | {method} | {ch[0]} ({ch[1]:.0f}) | "
                    f"{d['aopc_attributed']:.3f} | {d['aopc_random']:.3f} |"
                )
    return "\n".join(lines) + "\n"
