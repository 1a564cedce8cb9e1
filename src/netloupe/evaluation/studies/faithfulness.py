"""Dataset-scale faithfulness and sanity evaluation (the ``netloupe evaluate`` command's engine).

For every image (explained for its label, or for the predicted class when it has none) and method:
deletion / insertion AUC (Petsiuk et al. 2018), Average Drop / Increase in Confidence (Chattopadhyay et
al. 2018) and ROAD MoRF / LeRF (Rong et al. 2022); then, on the first ``sanity_images`` images,
cascading and independent parameter randomisation (Adebayo et al. 2018). Random, Sobel-edge and
centred-Gaussian maps are scored beside the methods, so a reader sees whether a method beats them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ...errors import InputError
from ...io.annotations import LocalizationItem
from ...io.atomic import atomic_write
from ...models.zoo import LoadedModel
from ..faithfulness import auc, average_drop_increase, deletion_curve, insertion_curve, road
from ..sanity import cascading_randomization, independent_randomization
from . import StageProgress
from .localization import _load_batch, _maps_for, _markdown, _validate_methods

__all__ = ["EvaluationReport", "default_randomization_groups", "run_evaluation", "write_evaluation"]



def default_randomization_groups(model: nn.Module) -> list[str]:
    """Top-level children that hold parameters, output side first; a container of blocks (e.g.
    ``blocks``) is split into its children, so that the cascade goes block by block."""
    groups: list[str] = []
    for name, child in model.named_children():
        if not any(True for _ in child.parameters()):
            continue
        sub = [(n, c) for n, c in child.named_children() if any(True for _ in c.parameters())]
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and len(sub) > 1:
            groups.extend(f"{name}.{n}" for n, _ in sub)
        else:
            groups.append(name)
    return groups[::-1]


@dataclass
class EvaluationReport:
    """Per-method faithfulness numbers, mean curves and randomisation correlations."""

    methods: list[str]
    faithfulness: dict[str, dict[str, float]]
    curves: dict[str, dict[str, list[float]]]
    sanity: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    sanity_layers: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    n_images: int = 0


def run_evaluation(
    loaded: LoadedModel,
    items: Sequence[LocalizationItem],
    methods: Sequence[str],
    *,
    steps: int = 20,
    road_fractions: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
    batch_size: int = 8,
    sanity_images: int = 4,
    sanity_layers: Sequence[str] | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: StageProgress | None = None,
) -> EvaluationReport:
    """Faithfulness metrics over ``items`` and sanity checks on the first ``sanity_images`` of them.

    Args:
        loaded: the model.
        items: images (labels optional).
        methods: registered CAM names and baselines (``backprop``, ``center``, ``random``, ``sobel``).
        steps: deletion / insertion steps (RISE uses one step per 224 pixels; 20 keeps CPU runs short).
        road_fractions: removed fractions for ROAD.
        batch_size: images per batch (perturbed inputs run in batches of 64).
        sanity_images: images for the randomisation checks (0 to skip them).
        sanity_layers: modules to randomise, output first (default :func:`default_randomization_groups`).
        device: where the model runs.
        seed: seed of the random baseline and of ROAD's noise.
        progress: ``callback(description, done, total)``.
    """
    if not items:
        raise InputError("items: nothing to evaluate")
    cheap, expensive, baselines = _validate_methods(methods)
    cams = cheap + expensive
    dev = torch.device(device)
    model = loaded.model.to(dev).eval()
    sums: dict[str, dict[str, float]] = {m: {} for m in methods}
    curve_sums: dict[str, dict[str, Tensor]] = {m: {} for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    n = 0
    first_x: list[Tensor] = []
    first_t: list[Tensor] = []
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        x = _load_batch(loaded, batch).to(dev)
        with torch.no_grad():
            logits = model(x)
        pred = logits.reshape(x.shape[0], -1).argmax(1)
        labels = torch.tensor([it.label if it.label is not None else -1 for it in batch], device=dev)
        targets = torch.where(labels >= 0, labels, pred)
        maps: dict[str, Tensor] = {}
        times: dict[str, float] = {}
        if cams:
            more, _, t1 = _maps_for(loaded, x, targets, cams, "cam", seed + start)
            maps.update(more)
            times.update(t1)
        if baselines:
            more, _, t2 = _maps_for(loaded, x, targets, baselines, "base", seed + start)
            maps.update(more)
            times.update(t2)
        for m in methods:
            t0 = time.perf_counter()
            mp = maps[m]
            dele = deletion_curve(model, x, mp, targets, steps=steps)
            ins = insertion_curve(model, x, mp, targets, steps=steps)
            conf = average_drop_increase(model, x, mp, targets)
            morf = road(model, x, mp, targets, road_fractions, "morf", seed=seed)
            lerf = road(model, x, mp, targets, road_fractions, "lerf", seed=seed)
            values = {
                "deletion_auc": auc(dele),
                "insertion_auc": auc(ins),
                "average_drop": 100 * conf.drop,
                "increase_in_confidence": 100 * conf.increase,
                "road_morf_probability": morf.probability.mean(1),
                "road_lerf_probability": lerf.probability.mean(1),
                "road_morf_accuracy": 100 * morf.correct.float().mean(1),
                "road_lerf_accuracy": 100 * lerf.correct.float().mean(1),
            }
            for key, v in values.items():
                sums[m][key] = sums[m].get(key, 0.0) + float(v.sum())
            for key, c in (
                ("deletion", dele),
                ("insertion", ins),
                ("road_morf", morf.probability),
                ("road_lerf", lerf.probability),
            ):
                curve_sums[m][key] = curve_sums[m].get(key, torch.zeros(c.shape[1])) + c.sum(0).cpu()
            seconds[m] += times.get(m, 0.0) + time.perf_counter() - t0
        n += x.shape[0]
        if sum(t.shape[0] for t in first_x) < sanity_images:
            first_x.append(x)
            first_t.append(targets)
        if progress is not None:
            progress("faithfulness", n, len(items))
    faith = {m: {k: v / n for k, v in s.items()} | {"n": float(n)} for m, s in sums.items()}
    curves = {m: {k: (v / n).tolist() for k, v in c.items()} for m, c in curve_sums.items()}
    curves["_fractions"] = {
        "steps": torch.linspace(0, 1, steps + 1).tolist(),
        "road": list(road_fractions),
    }
    report = EvaluationReport(
        list(methods), faith, curves, seconds={k: round(v, 1) for k, v in seconds.items()}, n_images=n
    )
    if sanity_images > 0:
        xs = torch.cat(first_x)[:sanity_images]
        ts = torch.cat(first_t)[:sanity_images]
        layers = list(sanity_layers) if sanity_layers is not None else default_randomization_groups(model)
        report.sanity_layers = layers
        for m in [m for m in methods if m not in expensive]:
            if progress is not None:
                progress(f"sanity {m}", 0, 1)

            def explain(mod: nn.Module, m: str = m) -> Tensor:
                lm = LoadedModel(loaded.name, mod, loaded.preprocess, loaded.class_names)
                kind = "cam" if m in cams else "base"
                return _maps_for(lm, xs, ts, [m], kind, seed)[0][m]

            casc = cascading_randomization(model, explain, layers, seed=seed)
            indep = independent_randomization(model, explain, layers, seed=seed)
            report.sanity[m] = {"cascading": casc.mean().tolist(), "independent": indep.mean().tolist()}
    return report


def _plot(report: EvaluationReport, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    steps = report.curves["_fractions"]["steps"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for m in report.methods:
        for ax, key in zip(axes, ("deletion", "insertion"), strict=True):
            ax.plot(steps, report.curves[m][key], label=f"{m} ({report.faithfulness[m][key + '_auc']:.3f})")
    for ax, key, hint in zip(axes, ("deletion", "insertion"), ("lower is better", "higher is better"), strict=True):
        ax.set(
            title=f"{key.capitalize()} (AUC in legend; {hint})",
            xlabel="fraction of pixels",
            ylabel="p(target)",
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "deletion_insertion.png"
    atomic_write(path, lambda p: fig.savefig(p, dpi=90, format="png"))
    plt.close(fig)
    paths.append(path)
    if report.sanity:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
        xs = range(len(report.sanity_layers))
        for m, s in report.sanity.items():
            for ax, kind in zip(axes, ("cascading", "independent"), strict=True):
                ax.plot(xs, s[kind], marker="o", ms=3, label=m)
        for ax, kind in zip(axes, ("cascading", "independent"), strict=True):
            ax.set(title=f"{kind} randomisation (Adebayo et al. 2018)", ylabel="Spearman ρ to original map")
            ax.set_xticks(list(xs), report.sanity_layers, rotation=70, fontsize=7)
            ax.axhline(0, color="grey", lw=0.5)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        path = out_dir / "sanity_randomization.png"
        atomic_write(path, lambda p: fig.savefig(p, dpi=90, format="png"))
        plt.close(fig)
        paths.append(path)
    return paths


_FAITH_COLUMNS = [
    ("deletion_auc", "Deletion AUC ↓"),
    ("insertion_auc", "Insertion AUC ↑"),
    ("average_drop", "Average Drop (%) ↓"),
    ("increase_in_confidence", "Increase in Conf. (%) ↑"),
    ("road_morf_probability", "ROAD MoRF p ↓"),
    ("road_lerf_probability", "ROAD LeRF p ↑"),
]


def write_evaluation(report: EvaluationReport, out_dir: Path, meta: Mapping[str, Any] | None = None) -> list[Path]:
    """Write evaluation.md, .csv, .json and the deletion/insertion and sanity PNG plots."""
    import csv
    import io

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for m in report.methods:
        r = report.faithfulness[m]
        row: dict[str, Any] = {"Method": m, "n": int(r["n"])}
        for key, title in _FAITH_COLUMNS:
            row[title] = round(r[key], 3)
        row["Wall time (s)"] = report.seconds.get(m)
        rows.append(row)
    md = [f"## Faithfulness ({report.n_images} images)\n\n{_markdown(rows)}"]
    sanity_rows = []
    for m, s in report.sanity.items():
        for kind in ("cascading", "independent"):
            sanity_rows.append(
                {
                    "Method": m,
                    "Randomisation": kind,
                    **{lay: round(v, 2) for lay, v in zip(report.sanity_layers, s[kind], strict=True)},
                }
            )
    if sanity_rows:
        md.append(
            "\n## Sanity: Spearman rank correlation with the trained model's maps (Adebayo et al. 2018)\n\n"
            "Columns: the layer randomised (cascading: that layer and every layer to its left).\n\n"
            + _markdown(sanity_rows)
        )
    paths = []
    target = out_dir / "evaluation.md"
    atomic_write(target, lambda p: Path(p).write_text("".join(md)))
    paths.append(target)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    target = out_dir / "evaluation.csv"
    atomic_write(target, lambda p: Path(p).write_text(buf.getvalue()))
    paths.append(target)
    payload = {
        "meta": dict(meta or {}),
        "faithfulness": report.faithfulness,
        "curves": report.curves,
        "sanity_layers": report.sanity_layers,
        "sanity": report.sanity,
        "seconds": report.seconds,
    }
    target = out_dir / "evaluation.json"
    atomic_write(target, lambda p: Path(p).write_text(json.dumps(payload, indent=2) + "\n"))
    paths.append(target)
    return paths + _plot(report, out_dir)
