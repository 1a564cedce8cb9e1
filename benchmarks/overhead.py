"""Where a gradient CAM's time goes beyond the forward pass: one call taken apart, stage by stage.

The stages are timed as separate contenders in interleaved rounds (``netloupe.bench.timing``), each a
superset of the previous one, so the differences between consecutive medians are what each stage adds:

1. ``forward (no grad)``: the model alone, the floor of every ratio;
2. ``+ hook, targets (no gradients)``: the shared pass with a forward hook on the target layer, the
   top-1 target resolved and scored — everything but autograd;
3. ``+ gradients``: autograd switched on at the target layer's output (a fresh leaf) and
   ``torch.autograd.grad`` of the target score w.r.t. it — the backward through the head;
4. ``+ weights, map, resize, normalise``: the whole ``Explainer.explain(x, "gradcam")`` call.

    PYTHONPATH=src python benchmarks/overhead.py --out results/benchmarks/overhead_cpu.json

Prints a Markdown table and writes the medians, ratios and per-stage increments as JSON. Nothing is
asserted (speed is measured here, never in tests).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from netloupe.bench import Contender, build_model, paired_ratio, time_interleaved
from netloupe.cam import Explainer
from netloupe.cam._capture import run_capture
from netloupe.targets import TargetSet, resolve_targets

STAGES = [
    "forward (no grad)",
    "+ hook, targets (no gradients)",
    "+ gradients",
    "+ weights, map, resize, normalise",
]


def stage_contenders(model: torch.nn.Module, layer: str, x: torch.Tensor) -> list[Contender]:
    """The four nested stages of one Grad-CAM call (see the module docstring)."""
    module = model.get_submodule(layer)
    explainer = Explainer(model, layer)

    def top1(outputs: torch.Tensor) -> TargetSet:
        return resolve_targets(None, outputs, None)

    def forward() -> Any:
        with torch.no_grad():
            return model(x)

    def capture(gradients: bool) -> Any:
        return run_capture(model, x, [(layer, module)], top1, gradients)

    return [
        Contender(STAGES[0], "netloupe", forward),
        Contender(STAGES[1], "netloupe", lambda: capture(False)),
        Contender(STAGES[2], "netloupe", lambda: capture(True)),
        Contender(STAGES[3], "netloupe", lambda: explainer.explain(x, "gradcam")),
    ]


def measure(model_name: str, batch: int, rounds: int, device: torch.device) -> dict[str, Any]:
    model, layer = build_model(model_name, device)
    torch.manual_seed(batch)
    x = torch.randn(batch, 3, 224, 224, device=device)
    contenders = stage_contenders(model, layer, x)
    times = time_interleaved(contenders, rounds, device, warmup=2)
    floor = times[0]
    medians = [statistics.median(t) for t in times]
    stages = []
    for i, (c, t) in enumerate(zip(contenders, times, strict=True)):
        stats = paired_ratio(t, floor)
        stages.append(
            {
                "stage": c.case,
                "median_ms": round(medians[i] * 1e3, 3),
                "adds_ms": round((medians[i] - medians[i - 1]) * 1e3, 3) if i else None,
                "ratio_to_forward": round(stats.median, 4),
                "ratio_iqr": [round(stats.q1, 4), round(stats.q3, 4)],
            }
        )
    return {"model": model_name, "batch": batch, "layer": layer, "rounds": rounds, "stages": stages}


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| model | batch | stage | median ms | adds ms | x no-grad forward (IQR) |",
        "|---|---|---|---|---|---|",
    ]
    for res in results:
        for s in res["stages"]:
            adds = "" if s["adds_ms"] is None else f"{s['adds_ms']:+.2f}"
            lo, hi = s["ratio_iqr"]
            lines.append(
                f"| {res['model']} | {res['batch']} | {s['stage']} | {s['median_ms']:.2f} | {adds} | "
                f"{s['ratio_to_forward']:.3f} ({lo:.3f}-{hi:.3f}) |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet50,efficientnet-lite0")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    results = [
        measure(m, int(b), args.rounds, device)
        for m in args.models.split(",")
        for b in args.batches.split(",")
    ]
    table = markdown(results)
    print(table)
    if args.out is not None:
        meta = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "command": "python benchmarks/overhead.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(f"# Overhead of one Grad-CAM call\n\n`{meta['command']}`\n\n{table}\n")


if __name__ == "__main__":
    main()
