"""Peak extra memory of one call, measured in a fresh process (CPU: RSS; CUDA: max allocated).

Run as ``python -m netloupe.bench.memory '<json case>'``; prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys

import torch

from .peers import make_runner
from .suite import build_model


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure(case: dict[str, object]) -> dict[str, float]:
    device = torch.device(str(case["device"]))
    model, layer = build_model(str(case["model"]), device)
    x = torch.randn(int(case["batch"]), 3, 224, 224, device=device)  # type: ignore[call-overload]
    classes = [1] * x.shape[0]
    library, method = str(case["library"]), case["method"]
    if library == "floor":

        def run(xx: torch.Tensor, _c: list[int]) -> object:
            with torch.no_grad():
                return model(xx)
    else:
        maybe = make_runner(library, model, layer, method)  # type: ignore[arg-type]
        if maybe is None:
            return {"skipped": 1.0}
        run = maybe  # type: ignore[assignment]
    with torch.no_grad():
        model(x[:1])
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
        run(x, classes)
        torch.cuda.synchronize()
        return {"peak_mb": torch.cuda.max_memory_allocated() / 2**20 - base}
    base = _rss_mb()
    run(x, classes)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peak_mb": max(0.0, peak - base)}


if __name__ == "__main__":
    torch.set_num_threads(int(json.loads(sys.argv[1]).get("threads", 2)))
    print(json.dumps(measure(json.loads(sys.argv[1]))))
