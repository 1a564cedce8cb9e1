"""Top-k Grad-CAM: what K classes cost next to one, with one batched backward and with K backward passes.

Contenders, timed in interleaved rounds (``netloupe.bench.timing``) and given as the median of the
per-round ratio to the no-grad forward pass of the same round:

- ``forward (no grad)``: the floor;
- ``gradcam top-1``: ``Explainer.explain(x, "gradcam", TopK(1))``;
- ``gradcam top-K, batched``: the same with ``TopK(K)``: one backward for all K (``is_grads_batched``);
- ``gradcam top-K, K backwards``: the same with the loop the engine falls back to (one backward per class).

    PYTHONPATH=src python benchmarks/topk.py --model resnet18 --batch 8 --k 5 --out results/cam/topk_cpu.json

Nothing is asserted (speed is measured here, never in tests).
"""

from __future__ import annotations

import argparse
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

import netloupe.cam._capture as capture_module
from netloupe import TopK
from netloupe.bench import Contender, build_model, paired_ratio, time_interleaved
from netloupe.cam import Explainer
from netloupe.io.atomic import atomic_write_json, atomic_write_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--layer", default=None, help="target layer (default: the benchmark model's own)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("results/cam/topk_cpu.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model, layer = build_model(args.model, device)
    layer = args.layer or layer
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    explainer = Explainer(model, layer)
    batched_grads = capture_module.target_gradients

    def loop_grads(scores: torch.Tensor, tensors: Any, batched: bool = True) -> list[torch.Tensor]:
        return batched_grads(scores, tensors, batched=False)

    def topk_loop() -> object:
        capture_module.target_gradients = loop_grads  # type: ignore[assignment]
        try:
            return explainer.explain(x, "gradcam", TopK(args.k))
        finally:
            capture_module.target_gradients = batched_grads

    def forward() -> object:
        with torch.no_grad():
            return model(x)

    batched = explainer.explain(x, "gradcam", TopK(args.k)).maps["gradcam"]
    looped = topk_loop().maps["gradcam"]  # type: ignore[attr-defined]
    max_diff = float((batched - looped).abs().max())
    contenders = [
        Contender("forward (no grad)", "torch", forward),
        Contender("gradcam top-1", "netloupe", lambda: explainer.explain(x, "gradcam", TopK(1))),
        Contender(f"gradcam top-{args.k}, batched", "netloupe", lambda: explainer.explain(x, "gradcam", TopK(args.k))),
        Contender(f"gradcam top-{args.k}, {args.k} backwards", "netloupe", topk_loop),
    ]
    times = time_interleaved(contenders, args.rounds, device, warmup=2)
    floor = times[0]
    rows = []
    for c, t in zip(contenders, times, strict=True):
        stats = paired_ratio(t, floor)
        rows.append(
            {
                "case": c.case,
                "median_ms": 1000 * sorted(t)[len(t) // 2],
                "ratio": stats.median,
                "q1": stats.q1,
                "q3": stats.q3,
            }
        )
    top1 = paired_ratio(times[2], times[1])
    loop_vs_batched = paired_ratio(times[3], times[2])
    meta = {
        "model": args.model,
        "layer": layer,
        "batch": args.batch,
        "size": args.size,
        "k": args.k,
        "rounds": args.rounds,
        "threads": args.threads,
        "device": str(device),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.uname().processor,
        "cpus": torch.get_num_threads(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "max_abs_diff_batched_vs_loop": max_diff,
        "command": f"PYTHONPATH=src python benchmarks/topk.py --model {args.model} --layer {layer} "
        f"--batch {args.batch} --size {args.size} --k {args.k} --rounds {args.rounds} --threads {args.threads} "
        f"--out {args.out}",
    }
    result = {
        "meta": meta,
        "rows": rows,
        "topk_batched_over_top1": vars(top1),
        "loop_over_batched": vars(loop_vs_batched),
    }
    lines = [
        f"# Top-{args.k} vs top-1 Grad-CAM ({args.model} at {layer}, batch {args.batch}, {args.size}px, {device}, "
        f"{args.threads} threads, {meta['date']})",
        "",
        "| case | median ms | x no-grad forward (median [IQR]) |",
        "|---|---|---|",
        *(f"| {r['case']} | {r['median_ms']:.1f} | {r['ratio']:.2f} [{r['q1']:.2f}-{r['q3']:.2f}] |" for r in rows),
        "",
        f"top-{args.k} batched / top-1 (paired per round): {top1.median:.2f} [{top1.q1:.2f}-{top1.q3:.2f}]; "
        f"{args.k} backwards / batched: {loop_vs_batched.median:.2f} "
        f"[{loop_vs_batched.q1:.2f}-{loop_vs_batched.q3:.2f}]; "
        f"max |batched - loop| map difference {max_diff:.2e}.",
        "",
        f"Command: `{meta['command']}`",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    atomic_write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
