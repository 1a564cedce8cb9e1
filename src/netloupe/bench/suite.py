"""The side-by-side benchmark: netloupe vs pytorch-grad-cam, TorchCAM and Captum, in one process run.

For every case (model, batch size, method) it times each library on the same model, inputs, layer and
classes, next to two floors measured in the same run: a plain no-grad forward pass and a forward pass
with autograd recording. Times are medians over repeats after a warm-up; ratios are what we report
(absolute times only from a GPU run). Peak memory runs in fresh processes (see ``memory.py``).
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .peers import LIBRARIES, make_runner

__all__ = ["BenchRow", "build_model", "run_suite", "write_results"]

GRADIENT_FIVE = ["gradcam", "gradcam++", "xgradcam", "layercam", "hirescam"]


def build_model(name: str, device: torch.device) -> tuple[nn.Module, str]:
    """The benchmark models and their target layers (weights do not change timings)."""
    if name == "resnet50":
        import torchvision

        torch.manual_seed(0)
        return torchvision.models.resnet50().eval().to(device), "layer4"
    if name == "resnet18":
        import torchvision

        torch.manual_seed(0)
        return torchvision.models.resnet18().eval().to(device), "layer4"
    if name == "efficientnet-lite0":
        from ..models.zoo import load_model

        return load_model().model.eval().to(device), "bn2"
    raise ValueError(f"model: expected resnet50, resnet18 or efficientnet-lite0, got {name!r}")


@dataclass
class BenchRow:
    """One timed (case, library) pair."""

    model: str
    batch: int
    case: str
    library: str
    median_s: float
    images_per_s: float
    ratio_to_forward: float
    repeats: int
    extra: dict[str, Any] = field(default_factory=dict)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _forward(model: nn.Module, x: torch.Tensor, autograd: bool) -> Any:
    with torch.set_grad_enabled(autograd):
        return model(x)


def _median_time(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _as_numpy(maps: Any) -> np.ndarray:
    if isinstance(maps, torch.Tensor):
        return maps.detach().float().cpu().numpy()
    return np.asarray(maps, dtype=np.float32)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def run_suite(
    models: list[str],
    batches: list[int],
    device: torch.device,
    repeats: int = 3,
    scorecam_models: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> list[BenchRow]:
    """Time every case for every library; see the module docstring."""
    rows: list[BenchRow] = []
    for model_name in models:
        model, layer = build_model(model_name, device)
        for batch in batches:
            x = torch.randn(batch, 3, 224, 224, device=device)
            classes = [int(c) for c in torch.arange(batch) % 1000]

            floor = _median_time(partial(_forward, model, x, False), device, repeats)
            grad_floor = _median_time(partial(_forward, model, x, True), device, repeats)
            for case, t in [("forward (no grad)", floor), ("forward (autograd)", grad_floor)]:
                rows.append(BenchRow(model_name, batch, case, "floor", t, batch / t, t / floor, repeats))
                log(f"{model_name} b{batch} {case}: {t:.3f}s")
            cases: list[tuple[str, str | list[str], int]] = [
                ("gradcam", "gradcam", 1),
                ("gradcam++", "gradcam++", 1),
                ("layercam", "layercam", 1),
                ("five gradient methods", GRADIENT_FIVE, 1),
                ("gradcam top-5 classes", "gradcam", 5),
            ]
            for case, method, top_k in cases:
                for library in LIBRARIES:
                    run = make_runner(library, model, layer, method, top_k)
                    if run is None:
                        continue
                    t = _median_time(partial(run, x, classes), device, repeats)
                    rows.append(BenchRow(model_name, batch, case, library, t, batch / t, t / floor, repeats))
                    log(f"{model_name} b{batch} {case} [{library}]: {t:.3f}s ({t / floor:.2f}x forward)")
        if model_name in (scorecam_models or []):
            rows.extend(_scorecam_rows(model_name, model, layer, device, floor_batch1=None, log=log))
    return rows


def _scorecam_rows(
    model_name: str,
    model: nn.Module,
    layer: str,
    device: torch.device,
    floor_batch1: float | None,
    log: Callable[[str], None],
) -> list[BenchRow]:
    """Score-CAM on one image: one timed call per library (each costs hundreds of passes) + map agreement."""
    torch.manual_seed(1)
    x = torch.randn(1, 3, 224, 224, device=device)
    with torch.no_grad():
        cls = [int(model(x).argmax(1))]

    floor = _median_time(partial(_forward, model, x, False), device, 3)
    rows = []
    maps: dict[str, np.ndarray] = {}
    for library in LIBRARIES:
        run = make_runner(library, model, layer, "scorecam")
        if run is None:
            continue
        _sync(device)
        start = time.perf_counter()
        out = run(x, cls)
        _sync(device)
        t = time.perf_counter() - start
        maps[library] = _as_numpy(out).reshape(-1, *_as_numpy(out).shape[-2:])[0]
        rows.append(BenchRow(model_name, 1, "scorecam", library, t, 1 / t, t / floor, 1))
        log(f"{model_name} b1 scorecam [{library}]: {t:.1f}s")
    ours = maps.get("netloupe")
    for row in rows:
        if ours is not None and row.library in maps:
            theirs = maps[row.library]
            if theirs.shape != ours.shape:
                theirs = torch.nn.functional.interpolate(
                    torch.from_numpy(theirs)[None, None], size=ours.shape, mode="bilinear", align_corners=False
                )[0, 0].numpy()
            row.extra["corr_with_netloupe"] = round(_corr(ours, theirs), 4)
    return rows


def memory_rows(
    models: list[str], batch: int, device: torch.device, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Peak extra memory of plain inference and of each library's Grad-CAM, one fresh process each."""
    out = []
    for model_name in models:
        for library in ["floor", *LIBRARIES]:
            case = {"model": model_name, "batch": batch, "library": library, "method": "gradcam", "device": str(device)}
            proc = subprocess.run(
                [sys.executable, "-m", "netloupe.bench.memory", json.dumps(case)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                log(f"memory {model_name} [{library}] failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            if "peak_mb" in result:
                out.append({**case, "peak_extra_mb": round(result["peak_mb"], 1)})
                log(f"memory {model_name} b{batch} [{library}]: +{result['peak_mb']:.0f} MB")
    return out


def write_results(
    rows: list[BenchRow], memory: list[dict[str, Any]], out_dir: Path, device: torch.device, command: str
) -> Path:
    """Raw JSON and a Markdown table; returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": command,
        "platform": platform.platform(),
    }
    tag = device.type
    (out_dir / f"{tag}.json").write_text(
        json.dumps({"meta": meta, "rows": [asdict(r) for r in rows], "memory": memory}, indent=2)
    )
    lines = [
        f"# Benchmark ({tag})",
        "",
        f"`{command}` — {meta['date']}, {meta['device']}, torch {meta['torch']}, {meta['threads']} threads.",
        "",
        "| model | batch | case | library | median s/batch | images/s | x no-grad forward | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        note = ", ".join(f"{k}={v}" for k, v in r.extra.items())
        lines.append(
            f"| {r.model} | {r.batch} | {r.case} | {r.library} | {r.median_s:.4f} | {r.images_per_s:.2f} | "
            f"{r.ratio_to_forward:.2f} | {note} |"
        )
    if memory:
        lines += [
            "",
            "Peak extra memory (fresh process per row; CPU: RSS, CUDA: max allocated):",
            "",
            "| model | batch | library | peak extra MB |",
            "|---|---|---|---|",
        ]
        lines += [f"| {m['model']} | {m['batch']} | {m['library']} | {m['peak_extra_mb']} |" for m in memory]
    md = out_dir / f"{tag}.md"
    md.write_text("\n".join(lines) + "\n")
    return md
