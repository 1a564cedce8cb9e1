"""Explain image files end to end: read, preprocess, one shared pass, maps at each image's own size.

The CLI (`netloupe explain`), the demo and the web app are thin shells over :func:`explain_images`;
:meth:`ExplainRun.save` writes overlays, arrays, top-k figures and one JSON manifest atomically.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ._typing import LayersSpec, PathLikeStr
from .cam.engine import Explainer, maps_at_size
from .cam.registry import get_method
from .io.images import read_image
from .models.zoo import LoadedModel
from .targets import TargetSpec, TopK

__all__ = ["ExplainRun", "ImageResult", "LoadedImage", "explain_images", "explain_loaded", "load_images"]


@dataclass
class ImageResult:
    """One image's predictions and maps (maps at the image's own resolution, values in [0, 1])."""

    source: str
    id: str
    image: Image.Image
    class_ids: list[int]
    labels: list[str]
    probabilities: list[float]
    maps: dict[str, np.ndarray]  # method -> (K, H, W) float32
    predictions: list[dict[str, object]] = field(default_factory=list)


@dataclass
class ExplainRun:
    """The result of explaining several images; ``save`` writes it to a folder."""

    model_name: str
    layers: list[str]
    methods: list[str]
    results: list[ImageResult]

    def save(self, out_dir: PathLikeStr, figures: bool = True) -> Path:
        """Write overlays, arrays and the manifest under ``out_dir``; returns the manifest path."""
        from .io.results import save_run

        return save_run(self, Path(out_dir), figures=figures)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "image"


LoadedImage = tuple[str, str, Image.Image]  # (source, unique id, image)


def load_images(sources: Sequence[PathLikeStr | Image.Image]) -> list[LoadedImage]:
    """Read every source up front (so a bad file fails before anything is written).

    Returns ``(source, id, image)`` triples with unique ids derived from file names.
    """
    out: list[LoadedImage] = []
    seen: dict[str, int] = {}
    for i, src in enumerate(sources):
        if isinstance(src, Image.Image):
            name, image = f"image{i}", src
        else:
            name, image = str(src), read_image(src)
        stem = _slug(Path(name).stem) if not isinstance(src, Image.Image) else name
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        out.append((name, stem if count == 0 else f"{stem}-{count}", image))
    return out


def explain_images(
    sources: Sequence[PathLikeStr | Image.Image],
    loaded: LoadedModel,
    methods: Sequence[str] = ("gradcam",),
    top_k: int = 3,
    target: TargetSpec = None,
    layer: LayersSpec = None,
    device: str | torch.device = "cpu",
    batch_size: int = 8,
    on_batch: Callable[[int], None] | None = None,
) -> ExplainRun:
    """Explain image files (or PIL images) with ``loaded`` and return the maps at image resolution.

    Every file is read before any work starts (see :func:`load_images`); the rest is
    :func:`explain_loaded`.

    Args:
        sources: image paths or PIL images.
        loaded: a model from :func:`netloupe.load_model`.
        methods: registry names; all share one pass per batch.
        top_k: explain the k most probable classes (ignored when ``target`` is given).
        target: a class index or name to explain instead of the top-k.
        layer: target layer (default: the model's recommended layer, else automatic).
        device: where to run.
        batch_size: images per pass.
        on_batch: called with the number of images finished after each batch (progress bars).
    """
    for m in methods:
        get_method(m)  # fail fast on unknown names, before any work
    return explain_loaded(load_images(sources), loaded, methods, top_k, target, layer, device, batch_size, on_batch)


def explain_loaded(
    images: Sequence[LoadedImage],
    loaded: LoadedModel,
    methods: Sequence[str] = ("gradcam",),
    top_k: int = 3,
    target: TargetSpec = None,
    layer: LayersSpec = None,
    device: str | torch.device = "cpu",
    batch_size: int = 8,
    on_batch: Callable[[int], None] | None = None,
) -> ExplainRun:
    """:func:`explain_images` on images already read by :func:`load_images`."""
    model = loaded.model.to(device)
    explainer = Explainer(model, layer if layer is not None else loaded.target_layer, class_names=loaded.class_names)
    spec: TargetSpec = TopK(top_k) if target is None else target
    results: list[ImageResult] = []
    layers: list[str] = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        x = loaded.preprocess.batch([im for _, _, im in chunk]).to(device)
        # Raw layer-resolution maps; each is resized once, straight to its image's size (maps_at_size).
        res = explainer.explain(x, list(methods), spec, upsample=False, normalize=False)
        layers = res.layers
        probs = res.target_probabilities().cpu()
        labels = res.labels()
        ids = res.class_ids.cpu().tolist() if res.class_ids is not None else [[-1] * res.scores.shape[1]] * len(chunk)
        for i, (source, ident, image) in enumerate(chunk):
            size = (image.height, image.width)
            maps = {
                name: maps_at_size(m[i : i + 1], size)[0].cpu().numpy().astype(np.float32)
                for name, m in res.maps.items()
            }
            preds = [
                {
                    "rank": r + 1,
                    "class_index": ids[i][r],
                    "label": labels[i][r],
                    "probability": round(float(probs[i, r]), 6),
                }
                for r in range(len(ids[i]))
            ]
            results.append(ImageResult(source, ident, image, ids[i], labels[i], probs[i].tolist(), maps, preds))
        if on_batch is not None:
            on_batch(len(chunk))
    return ExplainRun(loaded.name, layers, [get_method(m).name for m in methods], results)
