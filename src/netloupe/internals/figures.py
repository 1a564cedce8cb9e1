"""Glue from internals results to figures and files (used by the CLI, the demo and the result scripts)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from torch import nn

from .._typing import LayerSpec, PathLikeStr
from ..errors import InputError
from ..io.atomic import atomic_write
from ..models.preprocess import ImagePreprocess
from .activations import layer_activations, strongest_channels
from .data import ImageSet
from .dissection import NetworkDissection
from .filters import FilterMode, FilterScale, layer_kernel_tiles
from .neighbors import NeighborComparison

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "activations_figure",
    "dissection_detectors_figure",
    "filters_figure",
    "neighbors_comparison_figure",
    "pick_queries",
    "save_coordinates",
    "save_figure",
    "save_image",
]


def save_figure(fig: Figure, path: PathLikeStr, dpi: int = 100) -> Path:
    """Save a matplotlib figure atomically (temporary name, then rename) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"), keep_suffix=True)
    finally:
        plt.close(fig)


def save_image(array: np.ndarray, path: PathLikeStr, **save_kwargs: object) -> Path:
    """Save a uint8 image array atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(
        path,
        lambda tmp: Image.fromarray(array).save(tmp, **save_kwargs),  # type: ignore[arg-type]
        keep_suffix=True,
    )


def save_coordinates(
    path: PathLikeStr,
    coords: np.ndarray,
    names: Sequence[str],
    labels: np.ndarray | None,
    class_names: Sequence[str] | None,
) -> Path:
    """Write ``name,x,y[,label,label_name]`` rows to a CSV, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            dims = [f"dim{i}" for i in range(coords.shape[1])] if coords.shape[1] != 2 else ["x", "y"]
            w.writerow(["name", *dims, *(["label", "label_name"] if labels is not None else [])])
            for i, name in enumerate(names):
                row: list[object] = [name, *(f"{v:.6g}" for v in coords[i])]
                if labels is not None:
                    lab = int(labels[i])
                    row += [
                        lab,
                        class_names[lab] if class_names is not None and lab < len(class_names) else lab,
                    ]
                w.writerow(row)

    atomic_write(path, write)
    return path


def filters_figure(
    model: nn.Module,
    layer: LayerSpec | None = None,
    mode: FilterMode = "auto",
    scale: FilterScale = "shared",
    max_filters: int = 64,
    max_channels: int = 16,
    title: str = "",
) -> Figure:
    """The kernel grid of one conv layer (default: the first) as a figure."""
    from ..viz.grids import kernel_grid_figure

    name, kt = layer_kernel_tiles(model, layer, mode, scale, max_filters, max_channels)
    return kernel_grid_figure(kt, title=f"{title + ': ' if title else ''}layer {name!r}, mode {kt.mode}")


def activations_figure(
    model: nn.Module,
    image: Image.Image,
    preprocess: ImagePreprocess,
    layer: LayerSpec,
    n_maps: int = 32,
    device: str | torch.device = "cpu",
    title: str = "",
) -> Figure:
    """The ``n_maps`` strongest feature maps of ``layer`` for ``image`` (1-D as rows, 3-D central slice)."""
    from ..viz.grids import activation_grid_figure

    if n_maps < 1:
        raise InputError(f"n_maps: expected >= 1, got {n_maps}")

    x = preprocess.batch([image]).to(device)
    acts = layer_activations(model, x, layer)
    channels = strongest_channels(acts, n_maps)
    maps = acts[0, channels]
    if maps.ndim == 2:  # 1-D signals: each channel as a 1-row strip
        maps = maps[:, None, :]
    elif maps.ndim == 4:  # volumes: central depth slice
        maps = maps[:, maps.shape[1] // 2]
    shown = np.asarray(preprocess.to_model_image(image))
    return activation_grid_figure(
        shown,
        maps,
        channels.tolist(),
        title=title
        or f"layer {layer!r}: {acts.shape[1]} maps of {tuple(acts.shape[2:])}, the {len(channels)} strongest (by mean)",
    )


def pick_queries(n_points: int, labels: np.ndarray | None, n: int, seed: int = 0) -> np.ndarray:
    """``n`` query indices; with labels, one per class among classes that have another member."""
    rng = np.random.default_rng(seed)
    n = min(n, n_points)
    if labels is None:
        return np.sort(rng.choice(n_points, size=n, replace=False))
    lab = np.asarray(labels)
    values, counts = np.unique(lab, return_counts=True)
    eligible = values[counts > 1] if (counts > 1).any() else values
    picks = [int(rng.choice(np.flatnonzero(lab == c))) for c in rng.permutation(eligible)[:n]]
    if len(picks) < n:
        rest = np.setdiff1d(np.arange(n_points), picks)
        picks += rng.choice(rest, size=n - len(picks), replace=False).tolist()
    return np.array(picks[:n])


def neighbors_comparison_figure(
    images: ImageSet,
    comparison: NeighborComparison,
    queries: Sequence[int] | np.ndarray,
    labels: np.ndarray | None = None,
    title: str = "",
) -> Figure:
    """The classic figure: each query, its neighbours in feature space, and in pixel space."""
    from ..viz.panels import neighbors_figure

    if len(queries) == 0:
        raise InputError("queries: expected at least one query index")
    q = np.asarray(queries)
    fi, pi = comparison.feature_indices[q], comparison.pixel_indices[q]
    fm = pm = None
    qt = None
    if labels is not None:
        lab = np.asarray(labels)
        fm, pm = lab[fi] == lab[q][:, None], lab[pi] == lab[q][:, None]
        qt = [images.label_name(int(lab[i]))[:18] for i in q]
    return neighbors_figure(
        images.images(q),
        [images.images(r) for r in fi],
        [images.images(r) for r in pi],
        fm,
        pm,
        qt,
        title=title or f"{comparison.k} nearest neighbours ({comparison.metric}); frame: green = same label",
    )


def dissection_detectors_figure(
    dissection: NetworkDissection,
    images: ImageSet,
    n_detectors: int = 8,
    n_images: int = 5,
    title: str = "",
    per_concept: int | None = None,
) -> Figure:
    """Each detector's top-activating images with its unit mask (and the concept's mask).

    Shows the ``n_detectors`` best detectors, or with ``per_concept`` the best few of each concept.
    """
    from ..viz.panels import dissection_figure

    if not dissection.detectors_:
        raise InputError(
            f"dissection: no unit of {dissection.layer_!r} exceeds IoU {dissection.iou_threshold}; nothing to draw"
        )
    size = dissection.mask_size_
    chosen = dissection.detectors_[:n_detectors]
    if per_concept is not None:  # the best few of every concept, so one large concept does not fill the figure
        chosen = [
            d for c in dissection.concepts_ for d in [x for x in dissection.detectors_ if x.concept == c][:per_concept]
        ]
    rows = []
    for det in chosen:
        panels = []
        c = dissection.concepts_.index(det.concept)
        for i in dissection.top_images(det.unit, n_images):
            img = np.asarray(images.image(i).convert("RGB").resize((size[1], size[0]), Image.Resampling.BILINEAR))
            concept = (
                np.asarray(
                    Image.fromarray(images.masks(i)[c].astype(np.uint8) * 255).resize(
                        (size[1], size[0]), Image.Resampling.NEAREST
                    )
                )
                > 127
            )
            panels.append((img, dissection.unit_mask(i, det.unit), concept))
        rows.append((f"unit {det.unit} -> {det.concept} (IoU {det.iou:.3f})", panels))
    return dissection_figure(rows, title=title or f"network dissection of layer {dissection.layer_!r}")
