"""The side-by-side benchmark: netloupe vs pytorch-grad-cam, TorchCAM and Captum, in one process run.

For every (model, batch) it builds the contenders — two floors (a plain no-grad forward pass and a
forward pass with autograd recording) and every library's call for every case — and times them
interleaved (see ``timing.py``): each round runs every contender once in a shuffled order, and each
ratio to the no-grad floor is the median of per-round ratios. Before timing, every contender runs once
and its maps are correlated with netloupe's for the same case, so the table shows the libraries
computed the same thing. Absolute times are only meaningful from a GPU run; peak memory runs in fresh
processes (see ``memory.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from .peers import LIBRARIES, PEER_RESHAPES, make_runner
from .timing import Contender, paired_ratio, time_interleaved

__all__ = ["BENCH_MODELS", "GRADIENT_FIVE", "BenchRow", "build_model", "memory_rows", "run_suite"]

BENCH_MODELS = ("resnet50", "resnet18", "efficientnet-lite0", "vit-b16", "swin-t")
#: transformer rows: timm architectures with random weights (timings and agreement do not need trained ones)
TIMM_MODELS = {"vit-b16": "vit_base_patch16_224", "swin-t": "swin_tiny_patch4_window7_224"}
GRADIENT_FIVE = ["gradcam", "gradcam++", "xgradcam", "layercam", "hirescam"]
FLOOR = "floor"
NO_GRAD_FORWARD = "forward (no grad)"
#: (case, method(s), top-k): the gradient cases timed for every model and batch
GRADIENT_CASES: list[tuple[str, str | list[str], int]] = [
    ("gradcam", "gradcam", 1),
    ("gradcam++", "gradcam++", 1),
    ("layercam", "layercam", 1),
    ("five gradient methods", GRADIENT_FIVE, 1),
    ("gradcam top-5 classes", "gradcam", 5),
]

Log = Callable[[str], None]


def build_model(name: str, device: torch.device) -> tuple[nn.Module, str]:
    """The benchmark models and their target layers (weights do not change timings)."""
    if name in ("resnet50", "resnet18"):
        import torchvision

        torch.manual_seed(0)
        return getattr(torchvision.models, name)().eval().to(device), "layer4"
    if name == "efficientnet-lite0":
        from ..models.zoo import load_model

        return load_model().model.eval().to(device), "bn2"
    if name in TIMM_MODELS:
        import timm

        from ..layers import choose_layer

        torch.manual_seed(0)
        model = timm.create_model(TIMM_MODELS[name], pretrained=False).eval().to(device)
        # netloupe's automatic choice: blocks.11.norm1 (ViT), layers.3.blocks.1.norm1 (Swin), as the peers' docs
        return model, choose_layer(model, torch.zeros(1, 3, 224, 224, device=device)).name
    raise ValueError(f"model: expected one of {', '.join(BENCH_MODELS)}, got {name!r}")


@dataclass
class BenchRow:
    """One timed (case, library) pair.

    ``ratio_to_forward`` is the median of per-round ratios to the no-grad forward pass of the same
    round; ``ratio_q1``/``ratio_q3`` their quartiles (None in results written before interleaving).
    """

    model: str
    batch: int
    case: str
    library: str
    median_s: float
    images_per_s: float
    ratio_to_forward: float
    repeats: int
    extra: dict[str, Any] = field(default_factory=dict)
    ratio_q1: float | None = None
    ratio_q3: float | None = None


def _forward(model: nn.Module, x: torch.Tensor, autograd: bool) -> Any:
    with torch.set_grad_enabled(autograd):
        return model(x)


def _as_maps(out: Any) -> np.ndarray:
    """Any library's maps as a float64 ``(N, H, W)`` array (first map per sample)."""
    arr = out.detach().float().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=np.float32)
    arr = arr.reshape(-1, *arr.shape[-2:]) if arr.ndim >= 2 else arr
    return arr.astype(np.float64)


def agreement(ours: Any, theirs: Any) -> float:
    """Smallest per-sample Pearson correlation of two libraries' maps.

    Per sample, because libraries scale maps differently (min-max per map, or raw); theirs are
    resized to our resolution first (TorchCAM returns maps at the layer's resolution). A sample whose
    maps are both constant (no positive evidence anywhere) agrees and is skipped; one constant map
    against a varying one counts as 0. NaN when every sample was skipped.
    """
    a, b = _as_maps(ours), _as_maps(theirs)
    if b.shape[-2:] != a.shape[-2:]:
        b = torch.nn.functional.interpolate(
            torch.from_numpy(b)[:, None], size=a.shape[-2:], mode="bilinear", align_corners=False
        )[:, 0].numpy()
    corrs = []
    for mine, other in zip(a, b, strict=False):
        flat_mine, flat_other = mine.std() == 0, other.std() == 0
        if flat_mine or flat_other:
            if not (flat_mine and flat_other):
                corrs.append(0.0)
            continue
        corrs.append(float(np.corrcoef(mine.ravel(), other.ravel())[0, 1]))
    return min(corrs) if corrs else float("nan")


def _timed_rows(
    model_name: str,
    batch: int,
    contenders: list[Contender],
    device: torch.device,
    rounds: int,
    warmup: int,
    log: Log,
) -> list[BenchRow]:
    """Run every contender once (its maps), time all of them interleaved, and turn that into rows."""
    outputs = [c.run() for c in contenders]
    times = time_interleaved(contenders, rounds, device, warmup=warmup)
    floor = times[next(i for i, c in enumerate(contenders) if c.case == NO_GRAD_FORWARD)]
    ours = {c.case: out for c, out in zip(contenders, outputs, strict=True) if c.library == "netloupe"}
    rows = []
    for contender, out, t in zip(contenders, outputs, times, strict=True):
        stats = paired_ratio(t, floor)
        median = float(np.median(t))
        extra: dict[str, Any] = {}
        if contender.library not in (FLOOR, "netloupe") and contender.case in ours:
            extra["corr_with_netloupe"] = round(agreement(ours[contender.case], out), 4)
        rows.append(
            BenchRow(
                model_name, batch, contender.case, contender.library, median, batch / median,
                stats.median, rounds, extra, stats.q1, stats.q3,
            )
        )  # fmt: skip
        note = f" r={extra['corr_with_netloupe']}" if extra else ""
        log(
            f"{model_name} b{batch} {contender.case} [{contender.library}]: {median:.4f}s, "
            f"{stats.median:.2f}x forward (IQR {stats.q1:.2f}-{stats.q3:.2f}){note}"
        )
    return rows


def _floors(model: nn.Module, x: torch.Tensor) -> list[Contender]:
    return [
        Contender(NO_GRAD_FORWARD, FLOOR, partial(_forward, model, x, False)),
        Contender("forward (autograd)", FLOOR, partial(_forward, model, x, True)),
    ]


def run_suite(
    models: list[str],
    batches: list[int],
    device: torch.device,
    repeats: int = 10,
    scorecam_models: list[str] | None = None,
    log: Log = print,
    scorecam_repeats: int = 3,
    image_size: int = 224,
) -> list[BenchRow]:
    """Time every case for every library, ``repeats`` interleaved rounds per (model, batch).

    Score-CAM runs on one image per model in ``scorecam_models`` (each call costs hundreds of passes),
    ``scorecam_repeats`` interleaved rounds. Inputs are ``image_size`` pixels square.
    """
    rows: list[BenchRow] = []
    for model_name in models:
        model, layer = build_model(model_name, device)
        for batch in batches:
            torch.manual_seed(batch)
            x = torch.randn(batch, 3, image_size, image_size, device=device)
            with torch.no_grad():  # each sample's predicted class: the class a user would explain
                classes = [int(c) for c in model(x).argmax(1)]
            contenders = _floors(model, x)
            for case, method, top_k in GRADIENT_CASES:
                for library in LIBRARIES:
                    run = make_runner(library, model, layer, method, top_k, PEER_RESHAPES.get(model_name))
                    if run is not None:
                        contenders.append(Contender(case, library, partial(run, x, classes)))
            log(f"{model_name} b{batch}: {len(contenders)} contenders x {repeats} interleaved rounds")
            rows.extend(_timed_rows(model_name, batch, contenders, device, repeats, 1, log))
        if model_name in (scorecam_models or []):
            rows.extend(_scorecam_rows(model_name, model, layer, device, scorecam_repeats, image_size, log))
    return rows


def _scorecam_rows(
    model_name: str, model: nn.Module, layer: str, device: torch.device, repeats: int, size: int, log: Log
) -> list[BenchRow]:
    """Score-CAM of the predicted class on one image, every library, interleaved with the floor."""
    torch.manual_seed(1)
    x = torch.randn(1, 3, size, size, device=device)
    with torch.no_grad():
        cls = [int(model(x).argmax(1))]
    contenders = _floors(model, x)[:1]
    for library in LIBRARIES:
        run = make_runner(library, model, layer, "scorecam", reshape=PEER_RESHAPES.get(model_name))
        if run is not None:
            contenders.append(Contender("scorecam", library, partial(run, x, cls)))
    log(f"{model_name} b1 scorecam: {len(contenders)} contenders x {repeats} interleaved rounds")
    rows = _timed_rows(model_name, 1, contenders, device, repeats, 0, log)
    return [r for r in rows if r.case == "scorecam"]


def memory_rows(models: list[str], batch: int, device: torch.device, log: Log = print) -> list[dict[str, Any]]:
    """Peak extra memory of plain inference and of each library's Grad-CAM, one fresh process each."""
    out = []
    for model_name in models:
        for library in [FLOOR, *LIBRARIES]:
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
