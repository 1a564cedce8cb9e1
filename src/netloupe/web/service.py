"""One explanation request: pick the model, run the shared pass under the model's lock, keep the result.

Also renders what the page and the downloads need from a kept result: the heatmap as an RGBA PNG (for
client-side blending), the overlay PNG, the map as ``.npy`` and the run manifest.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..cam.registry import available_methods, get_method
from ..errors import Cancelled, InputError
from ..pipeline import ExplainRun, explain_images
from ..pipeline.manifest import build_manifest, done_record
from ..viz.colormaps import apply_colormap
from ..viz.overlay import overlay
from ._errors import ApiError
from .boxes import localization_box
from .limits import RequestCancelled, cancel_on_forward, wait_for_lock
from .pool import ModelPool
from .settings import Settings

__all__ = [
    "WebResult",
    "heatmap_png",
    "image_png",
    "manifest_json",
    "map_npy",
    "overlay_png",
    "parse_methods",
    "picture",
    "run_explain",
]


@dataclass
class WebResult:
    """A kept explanation: the run (one image), its boxes and what the page shows about the input."""

    run: ExplainRun
    input_id: str
    input_info: dict[str, Any]
    boxes: dict[str, list[list[int] | None]]
    seconds: float
    created: float = field(default_factory=time.time)


def parse_methods(text: str, settings: Settings) -> list[str]:
    """``"gradcam,layercam"`` -> registry names (unknown -> 422 with did-you-mean)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ApiError(422, f"methods: expected one or more of {', '.join(available_methods())}")
    methods: list[str] = []
    for name in names:
        key = get_method(name).name  # UnknownMethod -> 422 via the NetloupeError handler
        if key not in methods:
            methods.append(key)
    if len(methods) > settings.max_methods:
        raise ApiError(422, f"methods: at most {settings.max_methods} per request, got {len(methods)}")
    return methods


def run_explain(
    pool: ModelPool,
    model: str,
    image: Image.Image,
    source: str,
    methods: list[str],
    top_k: int,
    settings: Settings,
    cancel: threading.Event | None = None,
    deadline: float | None = None,
) -> tuple[ExplainRun, dict[str, list[list[int] | None]], float]:
    """Explain ``image`` (blocking; call from a worker thread). Returns the run, boxes and seconds spent.

    ``deadline`` (``time.monotonic()``; default: now + the request timeout) bounds the wait for the model's
    lock; once ``cancel`` is set (the client got its 503), the work stops at the model's next layer call
    and the lock is released.
    """
    if not 1 <= top_k <= settings.max_top_k:
        raise ApiError(422, f"top_k: expected 1..{settings.max_top_k}, got {top_k}")
    served = pool.get(model)
    n_classes = len(served.loaded.class_names)
    if served.loaded.input_kind not in ("image",):
        raise InputError(f"model: {model!r} reads {served.loaded.input_kind} inputs, not images")
    if deadline is None:
        deadline = time.monotonic() + settings.request_timeout_s
    wait_for_lock(served.lock, deadline, cancel, f"model: {model!r}")
    try:
        start = time.perf_counter()
        with cancel_on_forward(served.loaded.model, cancel):
            run = explain_images(
                [image], served.loaded, methods, top_k=min(top_k, n_classes), device=settings.device, cancel=cancel
            )
        run.results[0].item.id, run.results[0].item.source = _ident(source), source
        seconds = time.perf_counter() - start
    except (RequestCancelled, Cancelled) as exc:
        raise ApiError(503, f"request: the explanation took longer than {settings.request_timeout_s:.0f} s") from exc
    finally:
        served.lock.release()
    res = run.results[0]
    boxes = {m: [_box(maps[k]) for k in range(maps.shape[0])] for m, maps in res.maps.items()}
    return run, boxes, seconds


def _ident(source: str) -> str:
    stem = Path(source).stem or "image"
    return stem[:40]


def _box(heatmap: np.ndarray) -> list[int] | None:
    box = localization_box(heatmap)
    return list(box) if box is not None else None


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _map(result: WebResult, method: str, rank: int) -> np.ndarray:
    maps = result.run.results[0].maps
    if method not in maps:
        raise ApiError(404, f"method: {method!r} is not in this result; it has {', '.join(maps)}")
    if not 1 <= rank <= maps[method].shape[0]:
        raise ApiError(404, f"rank: expected 1..{maps[method].shape[0]}, got {rank}")
    return maps[method][rank - 1]


def heatmap_png(result: WebResult, method: str, rank: int, cmap: str = "turbo") -> bytes:
    """RGBA PNG: colour = colour map of the value, alpha = ``0.35 + 0.65 v`` (as in :func:`overlay`).

    Drawn over the photo with CSS opacity ``a``, the browser's blend equals ``overlay(image, map, alpha=a)``.
    """
    heat = _map(result, method, rank)
    rgb = apply_colormap(heat, cmap)
    alpha = ((0.35 + 0.65 * np.clip(heat, 0, 1)) * 255.0).round().astype(np.uint8)
    return _png(Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA"))


def overlay_png(result: WebResult, method: str, rank: int, alpha: float) -> bytes:
    """The server-side overlay (what ``netloupe explain`` writes) at opacity ``alpha``."""
    if not 0.0 <= alpha <= 1.0:
        raise ApiError(422, f"alpha: expected 0..1, got {alpha}")
    return _png(overlay(picture(result), _map(result, method, rank), alpha=alpha))


def picture(result: WebResult) -> Image.Image:
    """The explained picture (the web app explains 2-D images and slices, never whole volumes)."""
    image = result.run.results[0].image
    if image is None:
        raise ApiError(422, "result: this result has no 2-D picture")
    return image


def image_png(result: WebResult) -> bytes:
    return _png(picture(result))


def map_npy(result: WebResult, method: str, rank: int) -> bytes:
    """The map as a float32 ``.npy`` (no pickle), shape (height, width), values in [0, 1]."""
    buf = io.BytesIO()
    np.save(buf, _map(result, method, rank).astype(np.float32), allow_pickle=False)
    return buf.getvalue()


def manifest_json(result: WebResult) -> dict[str, Any]:
    """The run manifest (docs/manifest.md) built in memory, plus a ``web`` block.

    File paths in the map entries are those a saved run would have (``<id>/...``); the ``web`` block adds
    the boxes, the input description and the time spent.
    """
    run = result.run
    manifest = build_manifest(
        kind="explain",
        model=run.request.loaded.name,
        layers=run.layers,
        methods=run.methods,
        top_k=run.request.top_k,
        target=run.request.target,
        records=[done_record(r) for r in run.results],
    )
    manifest["web"] = {
        "localization_boxes": result.boxes,
        "box_rule": "largest 8-connected region >= 20% of the map's maximum (Zhou et al., CVPR 2016)",
        "input": result.input_info,
        "seconds": round(result.seconds, 4),
    }
    return manifest
