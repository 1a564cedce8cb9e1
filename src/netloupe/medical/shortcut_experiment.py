"""The shortcut experiment: a clean and a marker-biased pneumonia model, compared by their maps.

The biased model is trained on PneumoniaMNIST with the "hospital tag" :class:`~netloupe.medical.shortcut.Marker`
stamped on every pneumonia training (and validation) image and on no normal one. On the official test
images we measure

* accuracy / AUC with no marker, the marker on every image, the marker on pneumonia images only (the
  training correlation) and the marker moved to the normal images only (the correlation reversed);
* on test images with the marker added, the share of map energy (:func:`~netloupe.evaluation.energy.energy_share`)
  inside the marker's box (padded by ``pad`` pixels) and inside the top-right quadrant, for maps of the
  "pneumonia" class from the last layer (Grad-CAM, CAM) and from the first stage (Layer-CAM).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._typing import PathLikeStr
from ..evaluation.energy import area_fraction, box_mask, corner_mask, energy_share
from .audit import compute_maps
from .medmnist import MedMNISTSplit
from .shortcut import Marker, add_marker
from .train import binary_auc, normalize, predict_proba

__all__ = ["EXPLAINERS", "marker_region", "run_shortcut_experiment", "write_shortcut_report"]


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


#: (method, layer) pairs: the usual last-layer maps (7x7 at 28 px, receptive fields spanning most of the image)
#: and Layer-CAM on the 14x14 output of the first stage, which Jiang et al. (2021) designed for shallow layers.
EXPLAINERS: tuple[tuple[str, str], ...] = (
    ("gradcam", "features"),
    ("cam", "features"),
    ("layercam", "features.stage1"),
)


def run_shortcut_experiment(
    models: dict[str, nn.Module],
    test: MedMNISTSplit,
    marker: Marker,
    explainers: Sequence[tuple[str, str]] = EXPLAINERS,
    target_class: int = 1,
    pad: int = 1,
) -> dict[str, Any]:
    """Numbers of the experiment for each model (see the module docstring); maps kept for figures.

    Shares are reported three ways: the mean and median over images of each map's share, and the pooled
    share ``sum_images sum_R L / sum_images sum L`` (robust to maps with almost no energy).
    """
    labels = test.labels
    h, w = test.images.shape[-2:]
    conditions = {
        "no marker": test.images,
        "marker on all": add_marker(test.images, marker),
        "marker on pneumonia only": add_marker(test.images, marker, labels == 1),
        "marker moved to normal only": add_marker(test.images, marker, labels == 0),
    }
    regions = {
        f"tag box + {pad} px": marker_region(marker, h, w, pad),
        "top-right quadrant": corner_mask((h, w), h // 2, ["tr"]),
    }
    marked = normalize(conditions["marker on all"])
    clean = normalize(conditions["no marker"])
    out: dict[str, Any] = {
        "marker": marker.__dict__,
        "regions": {name: round(float(area_fraction(r)), 4) for name, r in regions.items()},
        "target_class": test.class_names[target_class],
        "models": {},
        "maps": {},
    }
    for name, model in models.items():
        model.eval()
        entry: dict[str, Any] = {"metrics": {c: _metrics(model, x, labels) for c, x in conditions.items()}}
        shares: dict[str, Any] = {}
        targets = torch.full_like(labels, target_class)
        for method, layer in explainers:
            key = f"{method} @ {layer}"
            maps = compute_maps(model, marked, method, layer, targets)
            clean_maps = compute_maps(model, clean, method, layer, targets)
            shares[key] = {}
            for region_name, region in regions.items():
                s = energy_share(maps, region)
                shares[key][region_name] = {
                    "mean": round(float(torch.nanmean(s)), 4),
                    "median": round(float(torch.nanmedian(s)), 4),
                    "pooled": round(float((maps * region).sum() / maps.sum()), 4),
                    "mean_by_class": {
                        test.class_names[c]: round(float(torch.nanmean(s[labels == c])), 4)
                        for c in range(len(test.class_names))
                    },
                    "pooled_without_tag": round(float((clean_maps * region).sum() / clean_maps.sum()), 4),
                }
            out["maps"][(name, key)] = maps
        entry["energy_share"] = shares
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
    fractions = ", ".join(f"{k}: {v}" for k, v in result["regions"].items())
    lines = [
        f"Tag: {marker.size}x{marker.size} px, {marker.corner} corner, {marker.margin} px margin. Maps explain "
        f"class '{result['target_class']}' on the 624 official test images. Region area fractions (= the share "
        f"of a uniform map): {fractions}.",
        "",
        "| model | test condition | accuracy | AUC | predicted pneumonia |",
        "|---|---|---|---|---|",
    ]
    for name, entry in result["models"].items():
        for cond, m in entry["metrics"].items():
            lines.append(f"| {name} | {cond} | {m['accuracy']:.4f} | {m['auc']:.4f} | {m['predicted_pneumonia']:.3f} |")
    lines += [
        "",
        "Share of map energy inside the region, tag on every test image (pooled over images; mean and median of "
        "per-image shares; mean per true class), and pooled without the tag:",
        "",
        "| model | map | region | pooled | mean | median | normal | pneumonia | pooled, no tag |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in result["models"].items():
        for key, per_region in entry["energy_share"].items():
            for region_name, v in per_region.items():
                by = v["mean_by_class"]
                lines.append(
                    f"| {name} | {key} | {region_name} | {v['pooled']:.4f} | {v['mean']:.4f} | {v['median']:.4f} "
                    f"| {by.get('normal', float('nan')):.4f} | {by.get('pneumonia', float('nan')):.4f} "
                    f"| {v['pooled_without_tag']:.4f} |"
                )
    (out / "results.md").write_text("\n".join(lines) + "\n")

    # Examples: 4 normal + 4 pneumonia test images with the tag; one row per (model, map).
    labels = test.labels
    idx = [*torch.nonzero(labels == 0)[:4, 0].tolist(), *torch.nonzero(labels == 1)[:4, 0].tolist()]
    marked = add_marker(test.images, marker)
    keys = [
        k
        for k in ("gradcam @ features", "layercam @ features.stage1")
        if (next(iter(result["models"])), k) in result["maps"]
    ]
    rows = [(name, key) for key in keys for name in result["models"]]
    fig, axes = plt.subplots(1 + len(rows), len(idx), figsize=(1.6 * len(idx), 1.75 * (1 + len(rows))), squeeze=False)
    for j, i in enumerate(idx):
        grey = marked[i, 0].numpy()
        axes[0, j].imshow(grey, cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(test.class_names[int(labels[i])], fontsize=8)
        for r, (name, key) in enumerate(rows, start=1):
            axes[r, j].imshow(overlay_rgb(grey, result["maps"][(name, key)][i].numpy()))
            if j == 0:
                axes[r, j].set_ylabel(f"{name}\n{key.split(' @ ')[0]}", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Maps of 'pneumonia' on test images with the tag (top-right): clean vs biased model", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "examples.png", dpi=90)
    plt.close(fig)

    names = list(result["models"])
    keys = list(next(iter(result["models"].values()))["energy_share"])
    fig, axes = plt.subplots(1, len(result["regions"]), figsize=(5.2 * len(result["regions"]), 3.2), squeeze=False)
    width = 0.8 / len(names)
    for ax, (region_name, fraction) in zip(axes[0], result["regions"].items(), strict=True):
        for k, name in enumerate(names):
            vals = [result["models"][name]["energy_share"][key][region_name]["pooled"] for key in keys]
            ax.bar([i + k * width for i in range(len(keys))], vals, width, label=name)
        ax.axhline(fraction, color="k", ls="--", lw=1, label="uniform map")
        ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(keys))], keys, fontsize=7)
        ax.set_title(region_name, fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of map energy (pooled)", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "shares.png", dpi=100)
    plt.close(fig)
    return {k: str(out / k) for k in ("results.json", "results.md", "examples.png", "shares.png")}
