"""Demo section: paediatric chest X-rays (PneumoniaMNIST test images) explained by ``pneumonia-cnn``.

Uses only shipped files: the model's weights and card, and eight official test images (CC BY 4.0,
MedMNIST v2; Kermany et al., 2018) in ``netloupe/models/data/pneumoniamnist_examples.npz``.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..viz.report import ReportSection, figure_html, figure_to_data_uri, table_html
from .runner import DemoContext

__all__ = ["build", "example_images"]


def example_images() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shipped examples: images ``(N, 28, 28)`` uint8, labels ``(N,)``, official test indices ``(N,)``."""
    path = resources.files("netloupe.models").joinpath("data/pneumoniamnist_examples.npz")
    with resources.as_file(path) as file, np.load(file) as data:
        return data["images"], data["labels"], data["test_index"]


def build(ctx: DemoContext) -> ReportSection | None:
    """Grad-CAM and CAM maps of the pneumonia model on eight test X-rays, with its model card."""
    try:
        import netloupe
        from netloupe.models.zoo import load_model
    except ImportError:  # pragma: no cover - the engine is part of the core package
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..viz.medical import overlay_rgb

    loaded = load_model("pneumonia-cnn").to(ctx.device)
    images, labels, index = example_images()
    x = loaded.preprocess.batch(list(images)).to(ctx.device)
    res = netloupe.explain(
        loaded.model, x, methods=["gradcam", "cam"], layer=loaded.target_layer, class_names=loaded.class_names
    )
    probs = res.probabilities.detach().cpu()
    if res.class_ids is None:  # pragma: no cover - class targets always give class ids
        return None
    ids = res.class_ids[:, 0].cpu()
    n = len(images)
    fig, axes = plt.subplots(3, n, figsize=(1.55 * n, 5.0), squeeze=False)
    for j in range(n):
        grey = images[j].astype(np.float32) / 255.0
        axes[0, j].imshow(grey, cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(f"#{int(index[j])}\ntrue: {loaded.class_names[int(labels[j])]}", fontsize=7)
        for r, method in enumerate(("gradcam", "cam"), start=1):
            axes[r, j].imshow(overlay_rgb(grey, res.maps[method][j, 0].detach().cpu().numpy()))
        pred = loaded.class_names[int(ids[j])]
        axes[1, j].set_title(f"{pred} {float(probs[j, ids[j]]):.2f}", fontsize=7)
    axes[1, 0].set_ylabel("Grad-CAM", fontsize=8)
    axes[2, 0].set_ylabel("CAM", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    card = loaded.card
    rows = [
        [
            int(index[j]),
            loaded.class_names[int(labels[j])],
            loaded.class_names[int(ids[j])],
            f"{float(probs[j, 1]):.3f}",
        ]
        for j in range(n)
    ]
    body = (
        "<p class='note'>Paediatric chest X-rays from the official PneumoniaMNIST test split (28&times;28 px, "
        "CC BY 4.0), explained by the project's own CAM-compatible CNN. Warm colours mark the evidence for "
        "the predicted class (Grad-CAM, Selvaraju et al. 2017; CAM, Zhou et al. 2016). Research and teaching "
        "only; not for diagnosis.</p>"
        + figure_html(
            figure_to_data_uri(fig),
            "top: input with true label; middle: Grad-CAM (prediction, probability); bottom: CAM",
            width=min(1300, 150 * n),
        )
        + table_html(["test index", "true", "predicted", "P(pneumonia)"], rows)
        + f"<p class='note'>{card}</p>"
    )
    return ReportSection(title="Medical: chest X-rays", body=body)
