"""PH2: fine-tune a melanoma classifier from the default backbone, then score its maps against lesion masks.

Reproducible (fixed seed, 5-fold stratified cross-validation whose folds are written to
``results/ph2/folds.csv``) and CPU-only. The shared 2-core machine allowed only a light fine-tune:
the whole EfficientNet-Lite0 backbone stays frozen and a new 2-class linear layer on its pooled
``bn2`` features is trained (a linear probe, the last layer of the network; images and their
horizontal flips, class-weighted cross-entropy, AdamW). Every image is then explained by the fold
model that did NOT train on it, for its true class (GT-known), and its map is scored against the
lesion mask: pointing game (15 px), energy inside the mask, PxAP / PIoU, and GT-known localization
with the mask's bounding box (CAM protocol).

Data: PH2 (Mendonça et al., EMBC 2013), research use; read from its folder, never copied. The fine-
tuned weights are written under ``out/ph2/`` (git-ignored), not into the repository.

Usage::

    PYTHONPATH=src python scripts/ph2_lesion_localization.py --data /work/shared/data/ph2-dermoscopy \
        --out results/ph2 [--methods cam gradcam gradcam++ layercam backprop center random sobel]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

import netloupe
from netloupe.evaluation.studies.localization import run_localization, write_tables
from netloupe.io.annotations import read_localization_dataset

SEED = 0
FOLDS = 5
EPOCHS = 300
LR = 1e-2


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index per sample: each class shuffled with ``seed`` and dealt round-robin over k folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=int)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % k
    return fold


def pooled_features(base: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GAP of the frozen backbone's last feature map (``bn2``), ``(N, 1280)``."""
    with torch.no_grad():
        return base.forward_features(x).mean((2, 3))


def train_head(feats: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Linear:
    """feats (N, V, 1280) for V views; full-batch class-weighted cross-entropy with AdamW."""
    torch.manual_seed(seed)
    head = nn.Linear(feats.shape[-1], 2)
    opt = torch.optim.AdamW(head.parameters(), lr=LR, weight_decay=1e-2)
    counts = torch.bincount(y, minlength=2).float()
    loss_fn = nn.CrossEntropyLoss(weight=counts.sum() / (2 * counts))
    n, v = feats.shape[:2]
    flat, targets = feats.reshape(n * v, -1), y.repeat_interleave(v)
    for _ in range(EPOCHS):
        loss = loss_fn(head(flat), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head.eval()


def full_model(base: nn.Module, head: nn.Linear) -> nn.Module:
    """The fold's classifier: the frozen backbone with the new linear layer (GAP + linear: CAM applies)."""
    import copy

    model = copy.deepcopy(base)
    model.classifier = head
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="PH2 folder (default: shared data dir)")
    parser.add_argument("--out", type=Path, default=Path("results/ph2"))
    parser.add_argument("--weights-dir", type=Path, default=Path("out/ph2"))
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["cam", "gradcam", "gradcam++", "layercam", "backprop", "center", "random", "sobel"],
    )
    parser.add_argument("--subset", type=int, default=40, help="seeded subset (same-subset table, Score-CAM)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.data is None:
        from netloupe._paths import shared_data_dir

        root = shared_data_dir()
        if root is None:
            print("PH2 data not found; pass --data", file=sys.stderr)
            return 2
        args.data = root / "ph2-dermoscopy"
    t_start = time.time()
    ds = read_localization_dataset(args.data, label_column="is_melanoma")
    loaded = netloupe.load_model()
    base = loaded.model.eval()
    pre = loaded.preprocess
    from PIL import Image

    labels = np.array([it.label for it in ds.items])
    folds = stratified_folds(labels, FOLDS, SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "folds.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "fold"])  # names and folds only: the labels stay in the PH2 folder
        for it, fo in zip(ds.items, folds, strict=True):
            w.writerow([it.image.name, int(fo)])

    # 1. cached pooled features of every image and its horizontal flip
    t0 = time.time()
    feats = []
    for i in range(0, len(ds.items), 16):
        x = torch.stack([pre(Image.open(it.image).convert("RGB")) for it in ds.items[i : i + 16]])
        feats.append(torch.stack([pooled_features(base, v) for v in (x, x.flip(-1))], 1))
        print(f"features {min(i + 16, len(ds.items))}/{len(ds.items)}", file=sys.stderr, flush=True)
    feats_t = torch.cat(feats)
    t_feats = time.time() - t0

    # 2. 5-fold training; out-of-fold predictions
    t0 = time.time()
    y = torch.as_tensor(labels)
    probs = torch.empty(len(labels))
    models: dict[int, nn.Module] = {}
    args.weights_dir.mkdir(parents=True, exist_ok=True)
    for k in range(FOLDS):
        tr = torch.as_tensor(np.flatnonzero(folds != k))
        te = torch.as_tensor(np.flatnonzero(folds == k))
        head = train_head(feats_t[tr], y[tr], SEED + k)
        with torch.no_grad():
            probs[te] = torch.softmax(head(feats_t[te, 0]), 1)[:, 1]
        models[k] = full_model(base, head)
        torch.save(head.state_dict(), args.weights_dir / f"fold{k}_head.pt")
        print(f"fold {k}: trained", file=sys.stderr, flush=True)
    t_train = time.time() - t0
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    pred = (probs > 0.5).long().numpy()
    cls = {
        "accuracy": float((pred == labels).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(labels, pred)),
        "roc_auc": float(roc_auc_score(labels, probs.numpy())),
    }

    # 3. maps of each image from its out-of-fold model, scored against the lesion mask
    t0 = time.time()
    fold_items = {k: [it for it, fo in zip(ds.items, folds, strict=True) if fo == k] for k in range(FOLDS)}
    names = ["nevus", "melanoma"]
    fold_models = {k: replace(loaded, model=models[k], class_names=names) for k in range(FOLDS)}
    report = run_localization(
        fold_models,
        fold_items,
        args.methods,
        batch_size=8,
        scorecam_subset=args.subset,
        maxboxacc=False,  # box metrics use the mask's bounding box; PxAP / PIoU are the mask analogues
        seed=SEED,
        example_dir=args.out,
    )
    t_maps = time.time() - t0
    meta = {
        "dataset": "PH2 (200 dermoscopy images, lesion masks), melanoma vs nevus (40 / 160)",
        "protocol": f"{FOLDS}-fold stratified CV, seed {SEED}; out-of-fold maps for the true class",
        "classification": cls,
        "seconds": {
            "features": round(t_feats, 1),
            "training": round(t_train, 1),
            "maps_and_metrics": round(t_maps, 1),
            "total": round(time.time() - t_start, 1),
        },
        "skipped": ds.skipped + report.skipped,
    }
    write_tables(report, args.out, "ph2_localization", meta, columns="masks")
    (args.out / "ph2_classification.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
