"""The shortcut experiment: a clean and a marker-biased pneumonia model, compared by their maps.

The biased model is trained on PneumoniaMNIST with the "hospital tag" :class:`~netloupe.medical.shortcut.Marker`
stamped on every pneumonia training (and validation) image and on no normal one. On the official test
images we measure

* accuracy / AUC with no marker, the marker on every image, the marker on pneumonia images only (the
  training correlation) and the marker moved to the normal images only (the correlation reversed);
* on test images with the marker added, the share of map energy inside the marker's box (padded by
  ``pad`` pixels) for Grad-CAM and CAM maps of the "pneumonia" class, per true class.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._typing import PathLikeStr
from ..evaluation.energy import area_fraction, box_mask, energy_share
from .audit import compute_maps
from .medmnist import MedMNISTSplit
from .shortcut import Marker, add_marker
from .train import binary_auc, normalize, predict_proba

__all__ = ["marker_region", "run_shortcut_experiment"]


def marker_region(marker: Marker, height: int, width: int, pad: int = 1) -> Tensor:
    """``(H, W)`` bool mask of the marker's box grown by ``pad`` pixels."""
    x0, y0, x1, y1 = marker.box(height, width)
    return box_mask((height, width), [[x0 - pad, y0 - pad, x1 + pad, y1 + pad]])[0]


def _metrics(model: nn.Module, images: Tensor, labels: Tensor) -> dict[str, float]:
    probs = predict_proba(model, images)
    return {
        "accuracy": round(float((probs.argmax(1) == labels).double().mean()), 4),
        "auc": round(binary_auc(probs[:, 1], labels), 4),
        "predicted_pneumonia": round(float((probs.argmax(1) == 1).double().mean()), 4),
    }


def run_shortcut_experiment(
    models: dict[str, nn.Module],
    test: MedMNISTSplit,
    marker: Marker,
    methods: Sequence[str] = ("gradcam", "cam"),
    target_class: int = 1,
    pad: int = 1,
    layer: str = "features",
) -> dict[str, Any]:
    """Numbers of the experiment for each model (see the module docstring); maps kept for figures."""
    labels = test.labels
    h, w = test.images.shape[-2:]
    conditions = {
        "no marker": test.images,
        "marker on all": add_marker(test.images, marker),
        "marker on pneumonia only": add_marker(test.images, marker, labels == 1),
        "marker moved to normal only": add_marker(test.images, marker, labels == 0),
    }
    region = marker_region(marker, h, w, pad)
    marked = normalize(conditions["marker on all"])
    clean = normalize(conditions["no marker"])
    out: dict[str, Any] = {
        "marker": marker.__dict__,
        "region_area_fraction": round(float(area_fraction(region)), 4),
        "target_class": test.class_names[target_class],
        "models": {},
        "maps": {},
    }
    for name, model in models.items():
        model.eval()
        entry: dict[str, Any] = {"metrics": {c: _metrics(model, x, labels) for c, x in conditions.items()}}
        shares: dict[str, Any] = {}
        targets = torch.full_like(labels, target_class)
        for method in methods:
            maps = compute_maps(model, marked, method, layer, targets)
            clean_maps = compute_maps(model, clean, method, layer, targets)
            s = energy_share(maps, region)
            s_clean = energy_share(clean_maps, region)
            shares[method] = {
                "marked_mean": round(float(torch.nanmean(s)), 4),
                "marked_median": round(float(torch.nanmedian(s)), 4),
                "marked_by_class": {
                    test.class_names[c]: round(float(torch.nanmean(s[labels == c])), 4)
                    for c in range(len(test.class_names))
                },
                "unmarked_mean": round(float(torch.nanmean(s_clean)), 4),
            }
            out["maps"][(name, method)] = maps
        entry["marker_energy_share"] = shares
        out["models"][name] = entry
    return out


def write_shortcut_report(
    result: dict[str, Any], test: MedMNISTSplit, marker: Marker, out_dir: PathLikeStr
) -> dict[str, str]:
    """``results.json``, ``results.md``, ``examples.png`` (maps) and ``shares.png`` (bar chart)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..viz.medical import overlay_rgb

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = {k: v for k, v in result.items() if k != "maps"}
    (out / "results.json").write_text(json.dumps(data, indent=2))
    lines = [
        f"Marker: {marker.size}x{marker.size} px tag, {marker.corner} corner; region = its box + 1 px "
        f"(area fraction {result['region_area_fraction']}). Maps explain class '{result['target_class']}'.",
        "",
        "| model | condition | accuracy | AUC | predicted pneumonia |",
        "|---|---|---|---|---|",
    ]
    for name, entry in result["models"].items():
        for cond, m in entry["metrics"].items():
            lines.append(f"| {name} | {cond} | {m['accuracy']:.4f} | {m['auc']:.4f} | {m['predicted_pneumonia']:.3f} |")
    lines += [
        "",
        "| model | method | share on marker (marked test, mean) | median | normal | pneumonia | share (unmarked) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in result["models"].items():
        for method, s in entry["marker_energy_share"].items():
            by = s["marked_by_class"]
            lines.append(
                f"| {name} | {method} | {s['marked_mean']:.4f} | {s['marked_median']:.4f} | "
                f"{by.get('normal', float('nan')):.4f} | {by.get('pneumonia', float('nan')):.4f} | "
                f"{s['unmarked_mean']:.4f} |"
            )
    (out / "results.md").write_text("\n".join(lines) + "\n")

    # Examples: 4 normal + 4 pneumonia test images with the marker; one row per model (Grad-CAM).
    labels = test.labels
    idx = [*torch.nonzero(labels == 0)[:4, 0].tolist(), *torch.nonzero(labels == 1)[:4, 0].tolist()]
    marked = add_marker(test.images, marker)
    names = list(result["models"])
    method = "gradcam"
    fig, axes = plt.subplots(1 + len(names), len(idx), figsize=(1.7 * len(idx), 1.9 * (1 + len(names))), squeeze=False)
    for j, i in enumerate(idx):
        grey = marked[i, 0].numpy()
        axes[0, j].imshow(grey, cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(test.class_names[int(labels[i])], fontsize=8)
        for r, name in enumerate(names, start=1):
            m = result["maps"][(name, method)][i].numpy()
            axes[r, j].imshow(overlay_rgb(grey, m))
            if j == 0:
                axes[r, j].set_ylabel(name, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Grad-CAM for 'pneumonia' on test images with the tag (top-right)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "examples.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3))
    methods = list(next(iter(result["models"].values()))["marker_energy_share"])
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        vals = [result["models"][name]["marker_energy_share"][m]["marked_mean"] for m in methods]
        ax.bar([i + k * width for i in range(len(methods))], vals, width, label=name)
    ax.axhline(result["region_area_fraction"], color="k", ls="--", lw=1, label="area fraction (uniform map)")
    ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(methods))], methods)
    ax.set_ylabel("share of map energy on the tag")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "shares.png", dpi=100)
    plt.close(fig)
    return {k: str(out / k) for k in ("results.json", "results.md", "examples.png", "shares.png")}
