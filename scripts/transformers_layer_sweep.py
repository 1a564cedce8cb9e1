"""Every candidate layer x every CAM method x the three tiny transformers, on synthetic ground truth.

For each shipped tiny model (``scripts/train_tiny_transformers.py``) and each layer a user could pick
(every block's ``norm1``, ``norm2`` and output; for Swin also every stage's output; the final norm),
every CAM of the registry that applies to a feature map (Grad-CAM, HiResCAM, Grad-CAM++, XGrad-CAM,
LayerCAM, Eigen-CAM, Score-CAM) plus the transformer-native methods (attention rollout and
gradient-weighted attention, global attention only) explain the predicted class of held-out images.
Reported: pointing game (strict: the map's maximum inside the object's box), the share of the map's
energy inside the object's box and inside the distractor's box, and how often the maximum falls on
the distractor.

A second part asks whether the models use the distractor at all (a deletion check): the logit of the
true class and the prediction with the distractor removed, and with the object removed.

Writes ``results/transformers/layer_sweep.{md,json,png}``.

    python scripts/transformers_layer_sweep.py [--n 500] [--arch tiny_deit]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import netloupe
from netloupe.io.atomic import atomic_write, atomic_write_json, atomic_write_text
from netloupe.layers import choose_layer
from netloupe.models.tiny_transformers import TINY_ARCHS, Scenes, load_tiny, locate_scores, shapes_scenes

OUT = Path(__file__).resolve().parents[1] / "results" / "transformers"
HELD_OUT_SEED = 2_000_000  # the seed of ground_truth.md (training uses seeds 0..steps-1, its check 1_000_000)
CAMS = ("gradcam", "hirescam", "gradcam++", "xgradcam", "layercam", "eigencam", "scorecam")
ATTENTION = ("rollout", "gradattention")
BATCH = 50
AUTO_ROW = "automatic (nothing named)"


def candidate_layers(model: nn.Module) -> list[str]:
    """Every block's norm1 / norm2 / output, every Swin stage's output and the final norm, in forward order."""
    names = []
    for name, _module in model.named_modules():
        parts = name.split(".")
        is_block = len(parts) >= 2 and parts[-2] == "blocks" and parts[-1].isdigit()
        is_norm = len(parts) >= 3 and parts[-3] == "blocks" and parts[-1] in ("norm1", "norm2")
        is_stage = len(parts) == 2 and parts[0] == "layers" and parts[1].isdigit()
        if is_block or is_norm or is_stage or name == "norm":
            names.append(name)

    # forward order: a block's norms before the block's output, a stage's blocks before the stage's output
    def key(n: str) -> tuple[Any, ...]:
        parts = n.split(".")
        rank = {"norm1": 0, "norm2": 1}.get(parts[-1], 2)
        nums = tuple(int(p) for p in parts if p.isdigit())
        stage_output = parts[-1].isdigit() and parts[-2] != "blocks"
        base = (*nums, 99) if stage_output else nums
        return (n == "norm", base, rank)

    return sorted(names, key=key)


def _box_energy(maps: Tensor, boxes: Tensor) -> Tensor:
    """Share of each map inside its (y0, x0, y1, x1) box; NaN for an empty map or a missing box."""
    out = torch.full((maps.shape[0],), float("nan"))
    for i, (y0, x0, y1, x1) in enumerate(boxes.tolist()):
        total = float(maps[i].sum())
        if y0 >= 0 and total > 0:
            out[i] = float(maps[i, y0:y1, x0:x1].sum()) / total
    return out


def _argmax_in(maps: Tensor, boxes: Tensor) -> Tensor:
    """Whether each map's maximum (any of its tied maxima) falls inside its box."""
    hits = torch.zeros(maps.shape[0], dtype=torch.bool)
    for i, (y0, x0, y1, x1) in enumerate(boxes.tolist()):
        m = maps[i]
        if y0 >= 0 and float(m.max()) > 0:
            hits[i] = bool((m[y0:y1, x0:x1] == m.max()).any())
    return hits


def score(maps: Tensor, scenes: Scenes) -> dict[str, float]:
    hits, energy = locate_scores(maps, scenes.boxes)
    return {
        "pointing_game": round(float(hits.float().mean()), 4),
        "energy_in_box": round(float(energy.nanmean()), 4),
        "max_on_distractor": round(float(_argmax_in(maps, scenes.distractors).float().mean()), 4),
        "energy_in_distractor": round(float(_box_energy(maps, scenes.distractors).nanmean()), 4),
        "empty_maps": int((maps.flatten(1).amax(1) <= 0).sum()),
    }


def explain_all(model: nn.Module, x: Tensor, methods: tuple[str, ...], layer: str | None) -> dict[str, Tensor]:
    parts: dict[str, list[Tensor]] = {m: [] for m in methods}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(0, x.shape[0], BATCH):
            result = netloupe.explain(model, x[i : i + BATCH], list(methods), None, layer, batch_size=256)
            for m in methods:
                parts[m].append(result.maps[m][:, 0])
    return {m: torch.cat(v) for m, v in parts.items()}


def explain_all_default(model: nn.Module, x: Tensor) -> tuple[str, Tensor]:
    """What ``netloupe.explain(model, x)`` gives with nothing named: (the method it chose, the maps)."""
    parts = [netloupe.explain(model, x[i : i + BATCH]) for i in range(0, x.shape[0], BATCH)]
    name = next(iter(parts[0].maps))
    return name, torch.cat([p.maps[name][:, 0] for p in parts])


def sweep(arch: str, scenes: Scenes) -> list[dict[str, Any]]:
    model = load_tiny(arch)
    auto = choose_layer(model, scenes.images[:1]).name
    rows: list[dict[str, Any]] = []
    for layer in candidate_layers(model):
        start = time.perf_counter()
        maps = explain_all(model, scenes.images, CAMS, layer)
        seconds = time.perf_counter() - start
        for method, m in maps.items():
            rows.append(
                {"arch": arch, "layer": layer, "automatic": layer == auto, "method": method, **score(m, scenes)}
            )
        best = max(rows[-len(maps) :], key=lambda r: r["pointing_game"])
        print(
            f"{arch} {layer:26s} best {best['method']:10s} PG {best['pointing_game']:.3f} ({seconds:.0f}s)", flush=True
        )
    return rows


def uses_distractor(arch: str, scenes: Scenes) -> dict[str, Any]:
    """Deletion check: does the true class's logit (or the prediction) move when the distractor goes?"""
    model = load_tiny(arch)
    y = scenes.labels
    with torch.no_grad():
        full, no_d, no_o = (model(x) for x in (scenes.images, scenes.without_distractor(), scenes.without_object()))

    def true_logit(out: Tensor) -> Tensor:
        return out.gather(1, y[:, None])[:, 0]

    def margin(out: Tensor) -> Tensor:  # true logit minus the best other
        other = out.clone()
        other[torch.arange(len(y)), y] = float("-inf")
        return true_logit(out) - other.amax(1)

    d_distractor = true_logit(no_d) - true_logit(full)
    d_object = true_logit(no_o) - true_logit(full)
    return {
        "arch": arch,
        "accuracy": round(float((full.argmax(1) == y).float().mean()), 4),
        "accuracy_without_distractor": round(float((no_d.argmax(1) == y).float().mean()), 4),
        "accuracy_without_object": round(float((no_o.argmax(1) == y).float().mean()), 4),
        "prediction_changed_without_distractor": round(float((no_d.argmax(1) != full.argmax(1)).float().mean()), 4),
        "mean_true_logit": round(float(true_logit(full).mean()), 3),
        "mean_margin": round(float(margin(full).mean()), 3),
        "mean_margin_without_distractor": round(float(margin(no_d).mean()), 3),
        "mean_abs_logit_change_without_distractor": round(float(d_distractor.abs().mean()), 3),
        "mean_logit_change_without_distractor": round(float(d_distractor.mean()), 3),
        "mean_abs_logit_change_without_object": round(float(d_object.abs().mean()), 3),
    }


def distractor_free(arch: str, scenes: Scenes) -> list[dict[str, Any]]:
    """Grad-CAM / HiResCAM at the automatic layer on the same images without the distractor."""
    model = load_tiny(arch)
    x = scenes.without_distractor()
    maps = explain_all(model, x, ("gradcam", "hirescam"), None)
    clean = Scenes(x, scenes.labels, scenes.boxes, torch.full_like(scenes.distractors, -1),
                   torch.zeros_like(x), scenes.object_delta)  # fmt: skip
    return [{"arch": arch, "method": m, **score(v, clean)} for m, v in maps.items()]


def figure(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = list(dict.fromkeys(r["arch"] for r in rows))
    fig, axes = plt.subplots(1, len(archs), figsize=(5.2 * len(archs), 6.5), squeeze=False)
    for ax, arch in zip(axes[0], archs, strict=True):
        mine = [r for r in rows if r["arch"] == arch and r["method"] in CAMS and r["layer"] != AUTO_ROW]
        layers = list(dict.fromkeys(r["layer"] for r in mine))
        grid = torch.full((len(layers), len(CAMS)), float("nan"))
        for r in mine:
            grid[layers.index(r["layer"]), CAMS.index(r["method"])] = r["pointing_game"]
        ax.imshow(grid.numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for i, j in ((i, j) for i in range(len(layers)) for j in range(len(CAMS))):
            v = float(grid[i, j])
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.6 else "black")
        auto = {r["layer"] for r in mine if r["automatic"]}
        ax.set_yticks(range(len(layers)), [f"{n} *" if n in auto else n for n in layers], fontsize=7)
        ax.set_xticks(range(len(CAMS)), CAMS, rotation=45, fontsize=8)
        ax.set_title(f"{arch}: pointing game (* automatic)", fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=80, format="png"))
    plt.close(fig)


def report(
    rows: list[dict[str, Any]], checks: list[dict[str, Any]], clean: list[dict[str, Any]], meta: dict[str, Any]
) -> str:
    lines = [
        "# Layer x method sweep on synthetic ground truth (tiny ViT+registers, DeiT, Swin)",
        "",
        f"{meta['n']} held-out images per model (seed {HELD_OUT_SEED}), maps of the predicted class. PG: pointing "
        "game, strict (the map's maximum inside the object's box). E obj / E dis: share of the map's energy in the "
        "object's / the distractor's box (their mean area share, chance level, is "
        f"{meta['object_area']:.3f} / {meta['distractor_area']:.3f}). max dis: share of maps whose maximum lies on "
        "the distractor. Bold: the automatic layer. The conclusion drawn from it (what netloupe chooses) is in "
        "`ground_truth.md`.",
        "",
        f"Machine: {meta['machine']}, torch {meta['torch']}, {meta['date']}. Command: `{meta['command']}` "
        f"({meta['seconds']:.0f} s)."
        + (f" Attention rows refreshed {meta['attention_rows']}." if "attention_rows" in meta else ""),
        "",
        "## Does the model use the distractor? (deletion check, same images)",
        "",
        "| model | accuracy | without distractor | without object | prediction changed w/o distractor "
        "| margin | margin w/o distractor | mean abs Δ true logit w/o distractor | ... w/o object |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        lines.append(
            f"| {c['arch']} | {c['accuracy']:.3f} | {c['accuracy_without_distractor']:.3f} | "
            f"{c['accuracy_without_object']:.3f} | {c['prediction_changed_without_distractor']:.3f} | "
            f"{c['mean_margin']:.2f} | {c['mean_margin_without_distractor']:.2f} | "
            f"{c['mean_abs_logit_change_without_distractor']:.2f} | {c['mean_abs_logit_change_without_object']:.2f} |"
        )
    lines += [
        "",
        "## The automatic layer on the same images without the distractor",
        "",
        "| model | method | PG | E obj |",
        "|---|---|---|---|",
    ]
    for c in clean:
        lines.append(f"| {c['arch']} | {c['method']} | {c['pointing_game']:.3f} | {c['energy_in_box']:.3f} |")
    for arch in dict.fromkeys(r["arch"] for r in rows):
        everything = [r for r in rows if r["arch"] == arch]
        mine = [r for r in everything if r["layer"] != AUTO_ROW]
        methods = list(dict.fromkeys(r["method"] for r in mine if r["method"] in CAMS))
        lines += ["", f"## {arch}: pointing game (E obj / E dis / max dis)", ""]
        lines += ["| layer | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for layer in dict.fromkeys(r["layer"] for r in mine if r["method"] in CAMS):
            cells = []
            for m in methods:
                r = next(r for r in mine if r["layer"] == layer and r["method"] == m)
                cells.append(
                    f"{r['pointing_game']:.3f} ({r['energy_in_box']:.2f} / {r['energy_in_distractor']:.2f} / "
                    f"{r['max_on_distractor']:.2f})"
                )
            auto = any(r["automatic"] for r in mine if r["layer"] == layer)
            lines.append(f"| {'**' + layer + '**' if auto else layer} | " + " | ".join(cells) + " |")
        for r in (r for r in mine if r["method"] in ATTENTION):
            lines.append(
                f"| {r['method']} (all blocks) | {r['pointing_game']:.3f} ({r['energy_in_box']:.2f} / "
                f"{r['energy_in_distractor']:.2f} / {r['max_on_distractor']:.2f}) |" + " |" * (len(methods) - 1)
            )
        for r in (r for r in everything if r["layer"] == AUTO_ROW):
            lines.append(
                f"| **{AUTO_ROW}: {r['method']}** | {r['pointing_game']:.3f} ({r['energy_in_box']:.2f} / "
                f"{r['energy_in_distractor']:.2f} / {r['max_on_distractor']:.2f}) |" + " |" * (len(methods) - 1)
            )
    lines += ["", "![pointing game per layer and method](layer_sweep.png)", ""]
    return "\n".join(lines)


def attention_rows(arch: str, scenes: Scenes) -> list[dict[str, Any]]:
    """The attention methods' rows and the automatic choice's (nothing named) of one model."""
    model = load_tiny(arch)
    rows = []
    method, maps = explain_all_default(model, scenes.images)
    rows.append({"arch": arch, "layer": AUTO_ROW, "automatic": True, "method": method,
                 **score(maps, scenes)})  # fmt: skip
    try:
        found = explain_all(model, scenes.images, ATTENTION, None)
    except netloupe.errors.MethodNotApplicable:
        found = {}
    for m, v in found.items():
        rows.append(
            {"arch": arch, "layer": "all attention blocks", "automatic": False, "method": m, **score(v, scenes)}
        )
    return rows


def refresh_attention(scenes: Scenes, archs: tuple[str, ...]) -> None:
    """Replace the attention rows of ``layer_sweep.json`` (e.g. after a change to those methods only)."""
    data = json.loads((OUT / "layer_sweep.json").read_text())
    keep = [r for r in data["rows"] if not (r["arch"] in archs and r["method"] not in CAMS)]
    fresh = [row for a in archs for row in attention_rows(a, scenes)]
    for r in fresh:
        print(r, flush=True)
    by_arch = {a: [r for r in keep if r["arch"] == a] + [r for r in fresh if r["arch"] == a] for a in TINY_ARCHS}
    data["rows"] = [r for a in TINY_ARCHS for r in by_arch[a]]
    meta = data["meta"]
    meta["attention_rows"] = (
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}: `python scripts/transformers_layer_sweep.py "
        "--attention-only` (rows of the attention methods and of the automatic choice)"
    )
    atomic_write_json(OUT / "layer_sweep.json", data)
    figure(data["rows"], OUT / "layer_sweep.png")
    atomic_write_text(
        OUT / "layer_sweep.md", report(data["rows"], data["uses_distractor"], data["distractor_free"], meta)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--arch", choices=[*TINY_ARCHS, "all"], default="all")
    parser.add_argument(
        "--attention-only",
        action="store_true",
        help="recompute only the attention methods' rows (and the automatic choice) of an existing layer_sweep.json",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    scenes = shapes_scenes(args.n, HELD_OUT_SEED)
    archs = TINY_ARCHS if args.arch == "all" else (args.arch,)
    if args.attention_only:
        refresh_attention(scenes, archs)
        return
    checks = [uses_distractor(a, scenes) for a in archs]
    for c in checks:
        print(c, flush=True)
    clean = [row for a in archs for row in distractor_free(a, scenes)]
    for c in clean:
        print(c, flush=True)
    rows = [row for a in archs for row in sweep(a, scenes) + attention_rows(a, scenes)]
    d = scenes.distractors
    meta: dict[str, Any] = {
        "n": args.n,
        "object_area": float(((scenes.boxes[:, 2] - scenes.boxes[:, 0]) ** 2).float().mean()) / 32**2,
        "distractor_area": float(((d[:, 2] - d[:, 0]) ** 2).float().mean()) / 32**2,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} thread",
        "torch": torch.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python scripts/transformers_layer_sweep.py"
        + (f" --n {args.n}" if args.n != 500 else "")
        + (f" --arch {args.arch}" if args.arch != "all" else ""),
        "seconds": time.perf_counter() - start,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_json(OUT / "layer_sweep.json", {"meta": meta, "uses_distractor": checks, "distractor_free": clean,
                                                 "rows": rows})  # fmt: skip
    figure(rows, OUT / "layer_sweep.png")
    atomic_write_text(OUT / "layer_sweep.md", report(rows, checks, clean, meta))


if __name__ == "__main__":
    main()
