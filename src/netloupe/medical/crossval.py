"""Stratified k-fold cross-validation of a training recipe on a MedMNIST train split.

BreastMNIST's validation split has 78 images (21 malignant): the AUC of one model on it has a standard
error of about 0.03, as large as the differences between recipes. Choosing a recipe by k-fold
cross-validation on the 546 training images (Stone, 1974, "Cross-validatory choice and assessment of
statistical predictions"; stratified as recommended by Kohavi, IJCAI 1995) scores every candidate on all
546 images, each by a model that did not train on it, and never touches the test split.

One training run per fold also scores several ways of turning that run into one model: the last epoch's
weights and stochastic weight averages (Izmailov et al., UAI 2018) started at different epochs, each with
and without averaging the probabilities of the image and its mirror image (test-time augmentation).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from .._typing import PathLikeStr
from ..errors import InputError
from .medmnist import MedMNISTSplit, load_split
from .train import TrainConfig, binary_auc, fit, normalize, recompute_bn, resize_images

__all__ = ["CVResult", "cross_validate", "predict_class1", "stratified_folds"]


def stratified_folds(labels: Tensor, k: int, seed: int = 0) -> list[Tensor]:
    """Split indices ``0..N-1`` into ``k`` disjoint folds with (nearly) the class mix of ``labels``.

    Each class's indices are shuffled with ``seed`` and dealt round-robin, so fold sizes of a class differ
    by at most one.
    """
    if k < 2 or k > int(labels.numel()):
        raise InputError(f"k: expected 2 <= k <= {int(labels.numel())} (the number of images), got {k}")
    generator = torch.Generator().manual_seed(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        for j, i in enumerate(idx.tolist()):
            folds[(j + offset) % k].append(i)
        offset += len(idx)
    return [torch.tensor(sorted(f), dtype=torch.long) for f in folds]


@torch.no_grad()
def predict_class1(model: nn.Module, images: Tensor, flip: bool = False) -> Tensor:
    """Probability of class 1 for images in [0, 1]; with ``flip`` the mean over the image and its mirror."""
    model.eval()
    p = torch.softmax(model(normalize(images)), 1)[:, 1]
    if flip:
        p = 0.5 * (p + torch.softmax(model(normalize(images.flip(-1))), 1)[:, 1])
    return p


@dataclass
class CVResult:
    """Per-fold AUCs of every way of finishing a run (``last``, ``swa@0.5``, ``swa@0.5+flip``, ...)."""

    config: TrainConfig
    k: int
    fold_auc: dict[str, list[float]]
    pooled_auc: dict[str, float]
    val_auc: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def mean(self, variant: str) -> float:
        """Mean over folds of the held-out AUC."""
        values = self.fold_auc[variant]
        return sum(values) / len(values)

    def summary(self) -> dict[str, Any]:
        def sd(v: list[float]) -> float:
            m = sum(v) / len(v)
            return (sum((x - m) ** 2 for x in v) / max(1, len(v) - 1)) ** 0.5

        return {
            "config": asdict(self.config),
            "k": self.k,
            "variants": {
                name: {
                    "fold_auc": [round(a, 4) for a in aucs],
                    "mean_auc": round(self.mean(name), 4),
                    "sd_auc": round(sd(aucs), 4),
                    "pooled_auc": round(self.pooled_auc[name], 4),
                    "mean_val_auc": round(sum(self.val_auc[name]) / len(self.val_auc[name]), 4)
                    if self.val_auc.get(name)
                    else None,
                }
                for name, aucs in self.fold_auc.items()
            },
            "seconds": round(self.seconds, 1),
        }


def _subset(split: MedMNISTSplit, idx: Tensor) -> MedMNISTSplit:
    return MedMNISTSplit(images=split.images[idx], labels=split.labels[idx], class_names=split.class_names)


class _Averages:
    """Epoch hook keeping one running weight average per start epoch (``start fraction -> first epoch``)."""

    def __init__(self, firsts: dict[float, int]) -> None:
        self.firsts = firsts
        self.models: dict[float, torch.optim.swa_utils.AveragedModel] = {}

    def __call__(self, epoch: int, model: nn.Module) -> None:
        for s, first in self.firsts.items():
            if epoch >= first:
                if s not in self.models:
                    self.models[s] = torch.optim.swa_utils.AveragedModel(model)
                self.models[s].update_parameters(model)


def cross_validate(
    config: TrainConfig,
    k: int = 5,
    data_path: PathLikeStr | None = None,
    fold_seed: int = 0,
    swa_starts: Sequence[float] = (0.3, 0.5, 0.7),
    folds: Sequence[int] | None = None,
    log: Callable[[str], None] | None = None,
) -> CVResult:
    """Score ``config`` by stratified k-fold cross-validation on the official train split.

    Each fold's model trains on the other folds (with ``config``'s seed) and is scored on its held-out
    fold (AUC), and also on the official validation split. The test split is never read.

    Args:
        config: the recipe to score (its ``select`` is ignored: every finishing variant is scored).
        k: number of folds.
        data_path: the dataset's ``.npz`` (default: the shared data folder).
        fold_seed: seed of the fold assignment (the same for every recipe, so that scores are paired).
        swa_starts: fractions of the epochs at which the weight averages start.
        folds: run only these fold indices (default: all ``k``).
        log: receives one line per fold.
    """
    start = time.perf_counter()
    tr, va = (load_split(config.dataset, s, data_path) for s in ("train", "val"))
    for part in (tr, va):
        part.images = resize_images(part.images, config.input_size)
    parts = stratified_folds(tr.labels, k, fold_seed)
    chosen = list(range(k)) if folds is None else list(folds)
    names = ["last"] + [f"swa@{s:g}" for s in swa_starts]
    variants = [n + suffix for n in names for suffix in ("", "+flip")]
    fold_auc: dict[str, list[float]] = {v: [] for v in variants}
    val_auc: dict[str, list[float]] = {v: [] for v in variants}
    pooled: dict[str, list[tuple[Tensor, Tensor]]] = {v: [] for v in variants}
    run_config = replace(config, select="last")
    for f in chosen:
        held = parts[f]
        keep = torch.cat([parts[j] for j in range(k) if j != f])
        fold_tr, fold_ho = _subset(tr, keep), _subset(tr, held)
        averages = _Averages({s: int(s * config.epochs) for s in swa_starts})
        fitted = fit(run_config, fold_tr, fold_ho, on_epoch=averages)
        finished: dict[str, nn.Module] = {"last": fitted.model}
        for s, avg in averages.models.items():
            recompute_bn(avg, fold_tr.images)
            finished[f"swa@{s:g}"] = avg.module
        for name, model in finished.items():
            for suffix, flip in (("", False), ("+flip", True)):
                p = predict_class1(model, fold_ho.images, flip)
                fold_auc[name + suffix].append(binary_auc(p, fold_ho.labels))
                val_auc[name + suffix].append(binary_auc(predict_class1(model, va.images, flip), va.labels))
                pooled[name + suffix].append((p, fold_ho.labels))
        if log is not None:
            log(f"fold {f}: " + " ".join(f"{v} {fold_auc[v][-1]:.4f}" for v in variants if not v.endswith("flip")))
    pooled_auc = {
        v: binary_auc(torch.cat([p for p, _ in pooled[v]]), torch.cat([y for _, y in pooled[v]])) for v in variants
    }
    return CVResult(
        config=config,
        k=k,
        fold_auc=fold_auc,
        pooled_auc=pooled_auc,
        val_auc=val_auc,
        seconds=time.perf_counter() - start,
    )
