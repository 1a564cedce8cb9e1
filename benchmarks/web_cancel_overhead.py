"""Cost of the web app's cancellation hooks (netloupe.web.limits.cancel_on_forward) on one explanation.

Interleaved rounds: the same Grad-CAM (and Score-CAM) explanation of one 224x224 image with
efficientnet-lite0, with and without the per-module forward pre-hooks; the median of each is reported
and their ratio. Run: PYTHONPATH=src python benchmarks/web_cancel_overhead.py [--rounds N] [--out FILE]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("results/web/cancel_overhead.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    from netloupe.demo.images import demo_photo
    from netloupe.models.zoo import load_model
    from netloupe.pipeline import explain_loaded
    from netloupe.web.limits import cancel_on_forward

    loaded = load_model("efficientnet-lite0")
    image: Image.Image = demo_photo("chelsea.png")
    n_modules = sum(1 for _ in loaded.model.modules())
    rows = []
    for method, rounds in (("gradcam", args.rounds), ("scorecam", max(3, args.rounds // 5))):
        times: dict[str, list[float]] = {"plain": [], "hooks": []}
        explain_loaded([("x", "x", image)], loaded, [method], top_k=1)  # warm-up
        for _ in range(rounds):
            for kind in ("plain", "hooks"):
                cancel = threading.Event() if kind == "hooks" else None
                t = time.perf_counter()
                with cancel_on_forward(loaded.model, cancel):
                    explain_loaded([("x", "x", image)], loaded, [method], top_k=1)
                times[kind].append(time.perf_counter() - t)
        plain, hooks = statistics.median(times["plain"]), statistics.median(times["hooks"])
        rows.append((method, rounds, plain, hooks, hooks / plain))
    lines = [
        "# Web cancellation hooks: overhead on one explanation",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, 1 thread, CPU shared with other jobs (noisy). efficientnet-lite0 "
        f"({n_modules} modules, each with one forward pre-hook while a request runs), one 451x300 photo.",
        "",
        "| method | rounds | median without hooks (s) | median with hooks (s) | ratio |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {m} | {r} | {p:.3f} | {h:.3f} | {q:.3f} |" for m, r, p, h, q in rows]
    lines += ["", "Command: `PYTHONPATH=src python benchmarks/web_cancel_overhead.py`", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
