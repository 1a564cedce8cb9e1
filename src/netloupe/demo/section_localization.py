"""Demo section: is the map right? A box from the map next to the true box (CAM protocol).

The photo is scikit-image's ``coffee.png`` (600x400, shipped with scikit-image; public domain). Its
ground-truth box was drawn by hand for this demo on a 50-pixel grid over the photo: the espresso cup
from the left edge of its body (x = 170) to the right of its rim (x = 412) and from the top of the rim
(y = 15) to the bottom of the handle and body (y = 305); the saucer and the spoon are left out.
The map's box follows Zhou et al. 2016: keep pixels above 20% of the map's maximum, take the box of
the largest connected component; a localization counts as correct at IoU >= 0.5.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from ..evaluation.boxes import box_iou, boxes_from_maps
from ..models.zoo import load_model
from ..viz.report import ReportSection, figure_to_data_uri, img_html, table_html
from .images import demo_photo
from .runner import DemoContext

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["COFFEE_CUP_BOX", "build"]

#: (x0, y0, x1, y1) of the cup in coffee.png, drawn by hand (see the module docstring).
COFFEE_CUP_BOX = (170.0, 15.0, 412.0, 305.0)
METHODS = ["cam", "gradcam", "gradcam++", "layercam"]


def _figure(
    image: np.ndarray, maps: dict[str, np.ndarray], boxes: dict[str, list[float]], ious: dict[str, float]
) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, len(maps), figsize=(3.2 * len(maps), 2.5), squeeze=False)
    for ax, (m, heat) in zip(axes[0], maps.items(), strict=True):
        ax.imshow(image)
        ax.imshow(heat, cmap="jet", alpha=0.4)
        x0, y0, x1, y1 = COFFEE_CUP_BOX
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="lime", lw=2))
        b = boxes[m]
        ax.add_patch(Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, ec="red", lw=2, ls="--"))
        ax.set_title(f"{m}: IoU {ious[m]:.2f}", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def build(ctx: DemoContext) -> ReportSection:
    loaded = ctx.cache.get("default_model") or load_model()
    ctx.cache["default_model"] = loaded
    import netloupe

    photo = demo_photo("coffee.png")
    image = np.asarray(photo)
    h, w = image.shape[:2]
    x = loaded.preprocess.batch([photo]).to(ctx.device)
    methods = METHODS[:2] if ctx.fast else METHODS
    res = netloupe.explain(
        loaded.model.to(ctx.device), x, methods=methods, targets=None, class_names=loaded.class_names
    )
    label = res.labels()[0][0]
    prob = float(res.target_probabilities()[0, 0])
    truth = torch.tensor(COFFEE_CUP_BOX)
    maps, boxes, ious = {}, {}, {}
    for m in methods:
        heat = torch.nn.functional.interpolate(
            res.maps[m][:, :1].float(), size=(h, w), mode="bilinear", align_corners=False
        )[0, 0]
        box = cast(torch.Tensor, boxes_from_maps(heat[None], 0.2))[0]
        maps[m] = heat.cpu().numpy()
        boxes[m] = [round(v, 1) for v in box.tolist()]
        ious[m] = float(box_iou(box.cpu(), truth))
    rows = [[m, str(boxes[m]), f"{ious[m]:.3f}", "yes" if ious[m] >= 0.5 else "no"] for m in methods]
    body = (
        "<p class='note'>Green: the true box of the cup without its saucer (drawn by hand for this demo). "
        "Red, dashed: the box "
        "read off each map with the CAM paper's protocol (pixels above 20% of the maximum, largest connected "
        "component; Zhou et al. 2016). The localization is correct when IoU &ge; 0.5. The model predicts "
        f"<b>{html.escape(label)}</b> (p = {prob:.2f}); maps explain that class.</p>"
        + img_html(
            figure_to_data_uri(_figure(image, maps, boxes, ious)),
            f"the coffee photo with the true box of the cup and the box read off each map ({', '.join(methods)})",
            "max-width:100%",
        )
        + table_html(["method", "box from the map (x0, y0, x1, y1)", "IoU with true box", "correct"], rows)
        + "<p class='note'>Dataset-scale numbers: <span class='mono'>netloupe localize</span> and "
        "<span class='mono'>results/localization/</span>.</p>"
    )
    return ReportSection("Localization: predicted box vs true box", body)
