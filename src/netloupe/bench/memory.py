"""Peak extra memory of one call, measured in a fresh process (CPU: RSS; CUDA: max allocated).

Run as ``python -m netloupe.bench.memory '<json case>'``; prints one JSON line.
"""

from __future__ import annotations

import json
import sys

import torch

from .peers import PEER_RESHAPES, make_runner
from .suite import build_model


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB -> MB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


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
        maybe = make_runner(library, model, layer, method, reshape=PEER_RESHAPES.get(str(case["model"])))  # type: ignore[arg-type]
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
    _reset_peak_rss()
    base = _status_mb("VmRSS")
    run(x, classes)
    return {"peak_mb": max(0.0, _status_mb("VmHWM") - base)}


if __name__ == "__main__":
    torch.set_num_threads(int(json.loads(sys.argv[1]).get("threads", 2)))
    print(json.dumps(measure(json.loads(sys.argv[1]))))
