"""Regenerate results/internals/ (figures, k-NN accuracies, dissection tables) on the 2-core CPU.

Usage: PYTHONPATH=src python scripts/internals/make_results.py [--parts filters activations imagenet pneumonia
       dissect-synthetic dissect-ph2] [--cache /tmp/netloupe-internals]

Reads ../shared/data (never copies it); feature caches go to --cache, outside the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

from netloupe._paths import shared_data_dir
from netloupe.internals import (
    TSNE,
    FeatureSet,
    NetworkDissection,
    compare_spaces,
    extract_features,
    load_image_set,
    pixel_vectors,
)
from netloupe.internals.data import ImageSet, with_complements
from netloupe.internals.figures import (
    dissection_detectors_figure,
    filters_figure,
    neighbors_comparison_figure,
    pick_queries,
    save_coordinates,
    save_figure,
    save_image,
)
from netloupe.internals.synthetic import identity_preprocess, shape_detector_net, synthetic_shapes
from netloupe.models import ImagePreprocess, load_model
from netloupe.viz.scatter import embedding_scatter, thumbnail_map

OUT = Path(__file__).resolve().parents[2] / "results" / "internals"


def _write_json(name: str, payload: dict) -> None:
    (OUT / name).write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


def _features(tag: str, model_name: str, images: ImageSet, cache: Path) -> tuple[FeatureSet, float]:
    path = cache / f"{tag}_features.npz"
    loaded = load_model(model_name)
    start = time.perf_counter()
    fs = extract_features(loaded.model, images, loaded.preprocess, batch_size=32, progress=True, model_name=model_name)
    elapsed = time.perf_counter() - start
    fs.save(path)
    return fs, elapsed


def feature_space(
    tag: str,
    title: str,
    model_name: str,
    images: ImageSet,
    pixel_size: int,
    cache: Path,
    thumb: int,
    grid: int,
) -> None:
    assert images.labels is not None
    fs, t_feat = _features(tag, model_name, images, cache)
    start = time.perf_counter()
    pixels = pixel_vectors(images, (pixel_size, pixel_size))
    t_pix = time.perf_counter() - start
    rows, timings = [], {"features_s": round(t_feat, 1), "pixel_vectors_s": round(t_pix, 1)}
    comps = {}
    for metric in ("l2", "cosine"):
        for k in (1, 5):
            start = time.perf_counter()
            comp = compare_spaces(fs.features, pixels, images.labels, k=k, metric=metric)
            timings[f"knn_{metric}_k{k}_s"] = round(time.perf_counter() - start, 2)
            comps[(metric, k)] = comp
            rows.append(comp.as_dict())
    queries = pick_queries(len(images), images.labels, 8, seed=0)
    comp = comps[("l2", 5)]
    fig = neighbors_comparison_figure(
        images,
        comp,
        queries,
        images.labels,
        title=f"{title}: 5 nearest neighbours (L2), {fs.model} penultimate features "
        f"vs {pixel_size}x{pixel_size} "
        f"pixels\nlabel agreement {comp.feature_agreement:.3f} vs {comp.pixel_agreement:.3f} (green "
        "frame = same label)",
    )
    save_figure(fig, OUT / f"{tag}_neighbors.png", dpi=80)
    start = time.perf_counter()
    coords = TSNE(perplexity=30, random_state=0).fit_transform(fs.features)
    timings["tsne_s"] = round(time.perf_counter() - start, 1)
    save_coordinates(OUT / f"{tag}_tsne_coords.csv", coords, fs.names, fs.labels, fs.class_names)
    save_figure(
        embedding_scatter(
            coords,
            fs.labels,
            fs.class_names,
            title=f"{title}: t-SNE of {fs.model} penultimate features ({len(coords)} images)",
        ),
        OUT / f"{tag}_tsne_scatter.png",
        dpi=80,
    )
    save_image(
        thumbnail_map(coords, images.image, grid=grid, thumb=thumb, labels=images.labels),
        OUT / f"{tag}_tsne_thumbnails.png",
        optimize=True,
    )
    with (OUT / f"{tag}_knn.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    # No neighbour can share the label of an image that is alone in its class: the 1-NN accuracy's ceiling.
    classes, per_class = np.unique(images.labels, return_counts=True)
    per_image = per_class[np.searchsorted(classes, images.labels)]
    _write_json(
        f"{tag}_knn.json",
        {
            "model": fs.model,
            "layer": fs.layer,
            "n_images": len(images),
            "n_classes": len(classes),
            "knn1_ceiling": float((per_image > 1).mean()),
            "feature_dim": int(fs.features.shape[1]),
            "pixel_size": pixel_size,
            "results": rows,
            "timings": timings,
        },
    )


def part_imagenet(data: Path, cache: Path) -> None:
    images = load_image_set(data / "imagenet-val-wsol-subset" / "labels.csv")
    feature_space(
        "imagenet",
        "ImageNet val subset (1,300 images, 725 classes)",
        "efficientnet-lite0",
        images,
        32,
        cache,
        thumb=28,
        grid=32,
    )


def part_pneumonia(data: Path, cache: Path) -> None:
    images = load_image_set(data / "pneumoniamnist" / "pneumoniamnist.npz", split="test")
    images.class_names = ["normal", "pneumonia"]
    feature_space(
        "pneumoniamnist",
        "PneumoniaMNIST test split (624 images)",
        "pneumonia-tinycnn",
        images,
        28,
        cache,
        thumb=28,
        grid=30,
    )


def part_filters() -> None:
    eff = load_model("efficientnet-lite0").model
    save_figure(
        filters_figure(eff, None, "rgb", "shared", title="efficientnet-lite0"),
        OUT / "filters_effnet_stem_shared.png",
        dpi=80,
    )
    save_figure(
        filters_figure(eff, None, "rgb", "per-filter", title="efficientnet-lite0"),
        OUT / "filters_effnet_stem_perfilter.png",
        dpi=80,
    )
    tiny = load_model("pneumonia-tinycnn").model
    save_figure(
        filters_figure(tiny, "features.0.0", "channels", "per-filter", title="pneumonia-tinycnn"),
        OUT / "filters_tinycnn_conv1.png",
        dpi=80,
    )
    save_figure(
        filters_figure(
            tiny,
            "features.1.0",
            "channels",
            "shared",
            max_filters=16,
            max_channels=16,
            title="pneumonia-tinycnn",
        ),
        OUT / "filters_tinycnn_conv2_channels.png",
        dpi=80,
    )


def part_activations() -> None:
    from PIL import Image
    from skimage import data as skdata

    from netloupe.internals.figures import activations_figure

    loaded = load_model("efficientnet-lite0")
    image = Image.fromarray(skdata.chelsea())
    for layer in ("blocks.1.1.bn1", "blocks.4.2.bn2"):
        fig = activations_figure(loaded.model, image, loaded.preprocess, layer, n_maps=24)
        save_figure(fig, OUT / f"activations_chelsea_{layer.replace('.', '')}.png", dpi=70)


def _dissect(
    tag: str,
    title: str,
    model: torch.nn.Module,
    layer: str,
    preprocess: ImagePreprocess,
    images: ImageSet,
    quantile: float,
    mask_size: tuple[int, int] | None,
    activations: torch.Tensor | None = None,
) -> tuple[dict, torch.Tensor]:
    start = time.perf_counter()
    d = NetworkDissection(model, layer, preprocess, quantile=quantile, mask_size=mask_size)
    d.fit(images, progress=True, activations=activations)
    elapsed = time.perf_counter() - start
    summary = d.summary()
    with (OUT / f"{tag}_units.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    (OUT / f"{tag}_detectors.png").unlink(missing_ok=True)  # no stale figure when a rerun finds no detector
    if d.detectors_:
        fig = dissection_detectors_figure(
            d, images, n_images=5, per_concept=3, title=f"{title}: layer {layer!r}, quantile {quantile}"
        )
        save_figure(fig, OUT / f"{tag}_detectors.png", dpi=80)
    per_concept = {c: sum(1 for det in d.detectors_ if det.concept == c) for c in d.concepts_}
    best = {}
    for i, c in enumerate(d.concepts_):
        unit = int(d.iou_[:, i].argmax())
        best[c] = {
            "unit": unit,
            "iou": round(float(d.iou_[unit, i]), 4),
            "coverage": round(float(d.coverage_[unit]), 4),
        }
    result = {
        "layer": layer,
        "units": int(d.iou_.shape[0]),
        "images": len(images),
        "quantile": quantile,
        "iou_threshold": d.iou_threshold,
        "detectors": len(d.detectors_),
        "detectors_per_concept": per_concept,
        "best_unit_per_concept": best,
        "nonselective_units": int(d.nonselective_.sum()),
        "max_coverage": d.max_coverage,
        "saturated_units": int((d.coverage_ > d.max_coverage).sum()),
        "top_detectors": [(det.unit, det.concept, round(det.iou, 4)) for det in d.detectors_[:10]],
        "seconds": round(elapsed, 1),
        "forward_pass": activations is None,
    }
    return result, d.activations_


def part_dissect_synthetic() -> None:
    images = synthetic_shapes(n=200, size=48, seed=0)
    res = {}
    for layer in ("0", "2"):
        res[layer], _ = _dissect(
            f"dissect_synthetic_layer{layer}",
            "synthetic shapes (hand-set units)",
            shape_detector_net(),
            layer,
            identity_preprocess(),
            images,
            0.005,
            None,
        )
    _write_json("dissect_synthetic.json", res)


def part_dissect_ph2(data: Path) -> None:
    images = with_complements(load_image_set(data / "ph2-dermoscopy" / "labels.csv", mask_columns=["mask"]), "not ")
    images.concepts = ["lesion", "skin (not lesion)"]
    loaded = load_model("efficientnet-lite0")
    res = {}
    # The paper's quantile (0.005) caps IoU with a concept covering a fraction f of the pixels at about
    # 0.005 / f; the lesion covers 0.32 of a PH2 image on average, q = 0.2 shows what units can do.
    for layer in ("blocks.4.2.bn2", "bn2"):
        acts = None
        for q in (0.005, 0.2):  # the second quantile reuses the first run's activations
            name = f"dissect_ph2_{layer.replace('.', '')}_q{q}"
            title = "PH2 lesion masks, efficientnet-lite0"
            res[f"{layer}@{q}"], acts = _dissect(
                name, title, loaded.model, layer, loaded.preprocess, images, q, (112, 112), acts
            )
    _write_json("dissect_ph2.json", res)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--parts",
        nargs="+",
        default=["filters", "activations", "dissect-synthetic", "pneumonia", "imagenet", "dissect-ph2"],
    )
    ap.add_argument("--cache", type=Path, default=Path("/tmp/netloupe-internals"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    data = shared_data_dir()
    for part in args.parts:
        start = time.perf_counter()
        if part == "filters":
            part_filters()
        elif part == "activations":
            part_activations()
        elif part == "dissect-synthetic":
            part_dissect_synthetic()
        elif part in ("imagenet", "pneumonia", "dissect-ph2"):
            if data is None:
                raise SystemExit(f"part {part} needs ../shared/data (or $NETLOUPE_DATA)")
            {"imagenet": part_imagenet, "pneumonia": part_pneumonia, "dissect-ph2": part_dissect_ph2}[part](
                data, *([args.cache] if part != "dissect-ph2" else [])
            )  # type: ignore[operator]
        else:
            raise SystemExit(f"unknown part {part}")
        print(f"== {part}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
