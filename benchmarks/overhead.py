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

On a shared VM the increments of a few milliseconds drown in the per-round spread, so a second table
times each fixed cost of a call on its own (``timeit``, the minimum of 5 repeats of 200 calls, the
usual estimator for microbenchmarks: noise only ever adds time): the eval-mode bookkeeping, the layer
lookup, the head's forward without and with autograd plus the backward to the layer, the Grad-CAM
weights and weighted sum, and the resize + normalisation of the map.

Prints Markdown tables and writes the medians, ratios, per-stage increments and fixed costs as JSON.
Nothing is asserted (speed is measured here, never in tests).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import timeit
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from netloupe._state import eval_mode
from netloupe.bench import Contender, build_model, paired_ratio, time_interleaved
from netloupe.bench.timing import sync
from netloupe.cam import Explainer
from netloupe.cam._capture import run_capture
from netloupe.cam.engine import maps_at_size
from netloupe.layers import resolve_layers
from netloupe.targets import TargetSet, probabilities, resolve_targets

#: what follows the target layer in each benchmark model (the part the gradient pass runs with autograd)
HEADS: dict[str, Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]] = {
    "resnet50": lambda m, a: m.fc(torch.flatten(m.avgpool(a), 1)),  # type: ignore[operator]
    "resnet18": lambda m, a: m.fc(torch.flatten(m.avgpool(a), 1)),  # type: ignore[operator]
    "efficientnet-lite0": lambda m, a: m.forward_head(a),  # type: ignore[operator]
}

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


def fixed_costs(model_name: str, batch: int, device: torch.device) -> dict[str, float]:
    """Microseconds per call of each fixed cost of a Grad-CAM call (see the module docstring)."""
    model, layer = build_model(model_name, device)
    x = torch.randn(batch, 3, 224, 224, device=device)
    capture, _ = run_capture(
        model, x, [(layer, model.get_submodule(layer))], lambda o: resolve_targets(None, o, None), True
    )
    acts, grads = capture.layers[0].activations, capture.layers[0].gradients
    assert grads is not None
    head = HEADS[model_name]
    cls = capture.outputs.argmax(1)

    def eval_bookkeeping() -> None:
        with eval_mode(model):
            pass

    def head_no_grad() -> None:
        with torch.no_grad():
            head(model, acts)

    def head_with_backward() -> None:
        leaf = acts.detach().requires_grad_(True)
        with torch.enable_grad():
            scores = head(model, leaf.clone()).gather(1, cls[:, None])
        torch.autograd.grad(scores.sum(), [leaf])

    def gradcam_map() -> None:
        weights = grads.mean(dim=(3, 4))
        torch.einsum("nkc,nc...->nk...", weights, acts)

    raw = torch.einsum("nkc,nc...->nk...", grads.mean(dim=(3, 4)), acts).clamp(min=0)
    calls: dict[str, Callable[[], Any]] = {
        "eval-mode bookkeeping (enter + exit)": eval_bookkeeping,
        "layer lookup": lambda: resolve_layers(model, layer, x),
        "head, no grad": head_no_grad,
        "head with autograd + backward to the layer": head_with_backward,
        "Grad-CAM weights + weighted sum": gradcam_map,
        "resize to 224x224 + normalise": lambda: maps_at_size(raw, (224, 224)),
        "softmax of the outputs": lambda: probabilities(capture.outputs),
    }
    costs = {}
    for name, fn in calls.items():

        def synced(fn: Callable[[], Any] = fn) -> None:  # on CUDA, time the work, not its launch
            fn()
            sync(device)

        synced()
        costs[name] = round(min(timeit.repeat(synced, number=200, repeat=5)) / 200 * 1e6, 1)
    return costs


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
    for res in results:
        if "fixed_costs_us" not in res:
            continue
        lines += ["", f"Fixed costs per call, {res['model']}, batch {res['batch']} (microseconds, min of 5x200):", ""]
        lines += ["| cost | us |", "|---|---|"]
        lines += [f"| {name} | {us:.1f} |" for name, us in res["fixed_costs_us"].items()]
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
    results = []
    for m in args.models.split(","):
        for b in args.batches.split(","):
            res = measure(m, int(b), args.rounds, device)
            if m in HEADS:
                res["fixed_costs_us"] = fixed_costs(m, int(b), device)
            results.append(res)
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
