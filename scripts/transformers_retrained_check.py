"""Does the conclusion of the ground-truth table hold for other training runs of the tiny transformers?

Weights trained by ``scripts/train_tiny_transformers.py --out DIR`` (not shipped) are checked the way
``layer_sweep.md`` checks the shipped ones: the deletion check (does the true class's logit move when the
distractor is removed?) and, on the same 500 held-out images, the automatic choice (nothing named),
Grad-CAM / HiResCAM / Score-CAM at the automatic layer, and the attention methods. Results are merged
into ``results/transformers/retrained.{md,json}`` under ``--label``.

    python scripts/train_tiny_transformers.py --out /tmp/full                       # full schedule
    python scripts/transformers_retrained_check.py --weights /tmp/full --label "full schedule (1500 steps)"
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transformers_layer_sweep as sweep  # the same scoring and deletion check

from netloupe.io.atomic import atomic_write_json, atomic_write_text
from netloupe.models.tiny_transformers import TINY_ARCHS, build_tiny, shapes_scenes

OUT = Path(__file__).resolve().parents[1] / "results" / "transformers"


def check(arch: str, weights: Path, n: int) -> dict[str, Any]:
    model = build_tiny(arch)
    model.load_state_dict(torch.load(weights / f"{arch}.pt", map_location="cpu", weights_only=True))
    model.eval()
    card = json.loads((weights / f"{arch}.json").read_text())
    scenes = shapes_scenes(n, sweep.HELD_OUT_SEED)
    original = sweep.load_tiny
    sweep.load_tiny = lambda _arch: model  # type: ignore[assignment]
    try:
        deletion = sweep.uses_distractor(arch, scenes)
    finally:
        sweep.load_tiny = original
    rows: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = sweep.explain_all_default(model, scenes.images)
        rows[f"automatic: {auto[0]}"] = sweep.score(auto[1], scenes)
        for method, maps in sweep.explain_all(model, scenes.images, ("gradcam", "hirescam", "scorecam"), None).items():
            rows[f"{method} (automatic layer)"] = sweep.score(maps, scenes)
        try:
            for method, maps in sweep.explain_all(model, scenes.images, sweep.ATTENTION, None).items():
                rows[f"{method} (all blocks)"] = sweep.score(maps, scenes)
        except Exception as exc:  # windowed attention: refused
            print(f"{arch}: attention methods refused ({type(exc).__name__})", flush=True)
    print(arch, deletion, {k: v["pointing_game"] for k, v in rows.items()}, flush=True)
    return {"arch": arch, "card_command": card.get("command"), "steps": card.get("steps"), "deletion": deletion,
            "rows": rows}  # fmt: skip


def report(data: dict[str, Any]) -> str:
    lines = [
        "# The ground-truth conclusion on other training runs (weights not shipped)",
        "",
        "Same 500 held-out images and scores as `layer_sweep.md` (PG: pointing game, strict; max dis: share of "
        "maxima on the distractor). Δ distractor / Δ object: mean absolute change of the true class's logit when "
        "the distractor / the object is removed (deletion check: is the object the only evidence?).",
        "",
    ]
    for label, run in data.items():
        meta = run["meta"]
        lines += [f"## {label}", "", f"{meta['machine']}, torch {meta['torch']}, {meta['date']}. "
                  f"Weights: `{meta['train_command']}`. Command: `{meta['command']}`.", ""]  # fmt: skip
        lines += [
            "| model | steps | Δ distractor | Δ object | map | PG | E obj | max dis |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in run["results"]:
            d = r["deletion"]
            for name, v in r["rows"].items():
                lines.append(
                    f"| {r['arch']} | {r['steps']} | {d['mean_abs_logit_change_without_distractor']:.2f} | "
                    f"{d['mean_abs_logit_change_without_object']:.2f} | {name} | {v['pointing_game']:.3f} | "
                    f"{v['energy_in_box']:.3f} | {v['max_on_distractor']:.3f} |"
                )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--train-command", required=True, help="the command that trained the weights")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = [check(a, args.weights, args.n) for a in TINY_ARCHS if (args.weights / f"{a}.pt").is_file()]
    path = OUT / "retrained.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[args.label] = {
        "meta": {
            "machine": f"{platform.machine()}, {torch.get_num_threads()} thread",
            "torch": torch.__version__,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "train_command": args.train_command,
            "command": f"python scripts/transformers_retrained_check.py --weights DIR --label {args.label!r} "
            f"--train-command {args.train_command!r}",
        },
        "results": results,
    }
    atomic_write_json(path, data)
    atomic_write_text(OUT / "retrained.md", report(data))


if __name__ == "__main__":
    main()
