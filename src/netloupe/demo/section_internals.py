"""Demo section "Inside the network": first-layer filters, a feature space, and a dissection sanity check.

Uses only what ships with the installed packages: the default model's weights, the project's
``pneumonia-tinycnn`` weights, and photographs from ``skimage.data``. Each photograph is shown in
several views (flipped, cropped, rotated); in the model's feature space the views of one photograph
are each other's nearest neighbours, in pixel space much less so (Krizhevsky et al. 2012, Sec. 6.1).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..viz.report import ReportSection, figure_html, figure_to_data_uri, table_html

if TYPE_CHECKING:
    from .runner import DemoContext

__all__ = ["build"]

_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "camera",
    "horse",
    "coins",
    "gravel",
)


def _photos(names: tuple[str, ...]) -> list[tuple[str, Image.Image]]:
    from skimage import data

    out = []
    for name in names:
        try:
            arr = getattr(data, name)()
        except Exception:  # a data file missing from this skimage install: skip it
            continue
        img = Image.fromarray(np.asarray(arr))
        img = img.convert("RGB")
        img.thumbnail((320, 320))
        out.append((name, img))
    return out


def _views(img: Image.Image) -> list[Image.Image]:
    """Original, mirror, 70% centre crop, 15-degree rotation with a corner crop."""
    w, h = img.size
    crop = img.crop((int(0.15 * w), int(0.15 * h), int(0.85 * w), int(0.85 * h)))
    rot = img.rotate(15, resample=Image.Resampling.BILINEAR).crop((int(0.1 * w), 0, w, int(0.9 * h)))
    return [img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), crop, rot]


def build(ctx: DemoContext) -> ReportSection | None:
    try:
        import skimage  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        return None
    import torch

    from ..internals import PCA, ImageSet, compare_spaces, extract_features, pixel_vectors
    from ..internals.dissection import NetworkDissection
    from ..internals.figures import dissection_detectors_figure, filters_figure, neighbors_comparison_figure
    from ..internals.synthetic import identity_preprocess, shape_detector_net, synthetic_shapes
    from ..models.zoo import load_model
    from ..viz.scatter import embedding_scatter

    start = time.perf_counter()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    loaded = ctx.cache.get("default_model") or load_model()
    loaded.model.to(ctx.device)
    parts: list[str] = []

    # 1. Filters
    parts.append(
        "<h3>First-layer filters</h3><p class='note'>Each 3x3 kernel of the stem convolution drawn as "
        "an RGB tile; left: one shared range for the layer (grey = 0), right: each tile stretched "
        "on its own.</p>"
    )
    for scale in ("shared", "per-filter"):
        fig = filters_figure(
            loaded.model, None, "rgb", "shared" if scale == "shared" else "per-filter", title=loaded.name
        )
        parts.append(figure_html(figure_to_data_uri(fig), f"{scale} scaling"))
    try:
        tiny = load_model("pneumonia-tinycnn").model
        fig = filters_figure(tiny, None, "channels", "per-filter", title="pneumonia-tinycnn (grey X-ray input)")
        parts.append(figure_html(figure_to_data_uri(fig), "pneumonia-tinycnn conv1, per-filter"))
    except Exception as exc:  # weights not shipped in this install
        ctx.log(f"internals demo: pneumonia-tinycnn skipped ({exc})")

    ctx.log(f"internals demo: filters {time.perf_counter() - start:.1f} s")

    # 2. Feature space on skimage photographs
    photos = _photos(_PHOTOS[:6] if ctx.fast else _PHOTOS)
    images, labels = [], []
    for k, (_, img) in enumerate(photos):
        for view in _views(img):
            images.append(np.asarray(view.resize((160, 160))))
            labels.append(k)
    ds = ImageSet.from_arrays(images, labels, [n for n, _ in photos])
    fs = extract_features(loaded.model, ds, loaded.preprocess, batch_size=16, device=ctx.device)
    pixels = pixel_vectors(ds, (32, 32))
    comp = compare_spaces(fs.features, pixels, ds.labels, k=3, metric="l2")  # type: ignore[arg-type]
    queries = np.arange(0, len(ds), 4)[: 3 if ctx.fast else 5] + 1
    fig = neighbors_comparison_figure(
        ds,
        comp,
        queries,
        ds.labels,
        title="3 nearest neighbours of a mirrored view (green: a view of the same photo)",
    )
    parts.append(
        "<h3>Feature space vs pixel space</h3><p class='note'>"
        f"{len(photos)} photographs from scikit-image, 4 views each (original, mirror, centre crop, "
        "rotation). "
        "Neighbours by L2 distance of the penultimate-layer vector (1,280-D) and of 32x32 pixels.</p>"
    )
    parts.append(figure_html(figure_to_data_uri(fig), "nearest neighbours"))
    pca = PCA(2).fit(fs.features)
    fig = embedding_scatter(pca.embedding_, ds.labels, ds.class_names, title="PCA of the features (colour = photo)")
    parts.append(figure_html(figure_to_data_uri(fig), "PCA, 2 components"))
    parts.append(
        table_html(
            ["space", "label agreement (k=3)", "3-NN accuracy"],
            [
                ["feature (penultimate)", f"{comp.feature_agreement:.3f}", f"{comp.feature_accuracy:.3f}"],
                ["pixel (32x32)", f"{comp.pixel_agreement:.3f}", f"{comp.pixel_accuracy:.3f}"],
            ],
        )
    )

    ctx.log(f"internals demo: filters + feature space {time.perf_counter() - start:.1f} s")

    # 3. Dissection sanity check on a known answer
    shapes = synthetic_shapes(n=60, size=40)
    diss = NetworkDissection(shape_detector_net(), "2", identity_preprocess()).fit(shapes)
    fig = dissection_detectors_figure(diss, shapes, n_images=4, title="network dissection, hand-set units")
    parts.append(
        "<h3>Network dissection on a known answer</h3><p class='note'>A CNN whose unit 0 reads red "
        "and unit 1 "
        "green, on images with a red square and a green disc: dissection (Bau et al. 2017: top 0.5% "
        "quantile, "
        "IoU > 0.04) must name unit 0 a square detector and unit 1 a circle detector, and nothing else.</p>"
    )
    parts.append(
        figure_html(
            figure_to_data_uri(fig),
            ", ".join(f"unit {d.unit} -> {d.concept} (IoU {d.iou:.2f})" for d in diss.detectors_),
        )
    )
    ctx.log(f"internals demo: {time.perf_counter() - start:.1f} s")
    return ReportSection(title="Inside the network", body="".join(parts))
