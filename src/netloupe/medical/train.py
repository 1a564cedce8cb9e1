"""Reproducible training of the project's CAM-compatible medical classifiers on MedMNIST.

One call (or ``netloupe medical train DATASET``) trains :class:`netloupe.models.medcnn.MedCNN` on the
official train split with a fixed seed, selects the epoch with the best validation AUC (the first one on
ties; ``select="last"`` keeps the last epoch instead) and reports
accuracy and AUC on the official test split. Everything runs in torch on one CPU thread in minutes.

Recipe: inputs scaled to [-1, 1]; batched random affine augmentation (rotation, scale, shift; flips only
where anatomy allows); AdamW with a cosine learning-rate schedule; cross-entropy with class-balanced
weights ``w_c = N / (C * N_c)`` (King & Zeng, 2001), so that the decision threshold does not simply follow
the training prior (PneumoniaMNIST's train split is 74 % pneumonia, its test split 62 %).

``select="swa"`` keeps instead the stochastic weight average (Izmailov et al., 2018, "Averaging weights
leads to wider optima and better generalization") of the weights at the end of every epoch from
``swa_start * epochs`` on, with the batch-norm statistics recomputed on the (unaugmented) train images.
The averaged model has the same layers, so its CAM head (GAP + one linear layer) is unchanged.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._typing import PathLikeStr
from ..errors import InputError
from ..io.atomic import atomic_write, atomic_write_json
from ..models.medcnn import MedCNN
from .medmnist import DATASETS, MedMNISTSplit, load_split

__all__ = [
    "FitResult",
    "TrainConfig",
    "TrainResult",
    "auc_standard_error",
    "augment",
    "binary_auc",
    "evaluate",
    "fit",
    "normalize",
    "recipe",
    "recompute_bn",
    "save_result",
    "train",
]

#: ``images (N,1,H,W) in [0,1], labels (N,) -> images``: a deterministic change of a split (e.g. a marker).
SplitTransform = Callable[[Tensor, Tensor], Tensor]


@dataclass
class TrainConfig:
    """Everything that determines a training run (saved next to the weights)."""

    dataset: str = "pneumoniamnist"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    width: int = 32
    dropout: float = 0.2
    seed: int = 0
    rotate_deg: float = 10.0
    scale: float = 0.1
    shift: float = 0.1
    hflip: bool = False
    class_balanced: bool = True
    select: str = "best_val_auc"
    input_size: int = 28
    swa_start: float = 0.5
    mixup: float = 0.0
    label_smoothing: float = 0.0


def recipe(dataset: str, **overrides: Any) -> TrainConfig:
    """The configuration that trained the shipped model for ``dataset`` (with optional overrides)."""
    if dataset not in DATASETS:
        raise InputError(f"dataset: expected one of {sorted(DATASETS)}, got {dataset!r}")
    recipes: dict[str, dict[str, Any]] = {
        "pneumoniamnist": {"epochs": 12},
        # 546 training images: more epochs, smaller batches; ultrasound may be mirrored. Width 16 and weight
        # decay 2e-2 were chosen by 5-fold cross-validation on the train split (issue 15; see
        # results/medical/breastmnist_scores.md), over the previous width 32 / weight decay 5e-4.
        "breastmnist": {
            "epochs": 60,
            "batch_size": 64,
            "hflip": True,
            "select": "swa",
            "width": 16,
            "weight_decay": 2e-2,
        },
    }
    base = recipes[dataset]
    unknown = set(overrides) - set(TrainConfig.__dataclass_fields__)
    if overrides.get("select") not in (None, "best_val_auc", "last", "swa"):
        raise InputError(f"select: expected 'best_val_auc', 'last' or 'swa', got {overrides['select']!r}")
    if unknown:
        raise InputError(f"overrides: unknown training options {sorted(unknown)}")
    return TrainConfig(dataset=dataset, **{**base, **{k: v for k, v in overrides.items() if v is not None}})


@dataclass
class TrainResult:
    """The trained model (eval mode, best validation epoch) and its measured numbers."""

    model: MedCNN
    config: TrainConfig
    best_epoch: int
    val: dict[str, float]
    test: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "best_epoch": self.best_epoch,
            "val": self.val,
            "test": self.test,
            "seconds": round(self.seconds, 1),
        }


def normalize(images: Tensor) -> Tensor:
    """[0, 1] -> [-1, 1], the models' input scaling (mean 0.5, std 0.5)."""
    return (images - 0.5) / 0.5


def augment(images: Tensor, config: TrainConfig, generator: torch.Generator) -> Tensor:
    """Random affine warp of a batch ``(N, C, H, W)``, one draw per sample, zero padding (black).

    Rotation uniform in ``±rotate_deg``, isotropic scale in ``1 ± scale``, shift in ``±shift`` of the
    half-width, and a horizontal flip with probability 1/2 when ``config.hflip``.
    """
    n = images.shape[0]

    def uniform(lo: float, hi: float) -> Tensor:
        return torch.rand(n, generator=generator) * (hi - lo) + lo

    angle = uniform(-config.rotate_deg, config.rotate_deg) * math.pi / 180
    scale = uniform(1 - config.scale, 1 + config.scale)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if config.hflip else torch.ones(n)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, 0, 2] = uniform(-config.shift, config.shift)
    theta[:, 1, 2] = uniform(-config.shift, config.shift)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def resize_images(images: Tensor, size: int) -> Tensor:
    """Bilinear resize of ``(N, C, H, W)`` images to ``size`` x ``size`` (no-op at the same size).

    Same arithmetic as the zoo's preprocessing path for the 28-pixel originals (PIL bilinear upsampling
    of uint8 images differs by at most one grey level).
    """
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)


def binary_auc(scores: Tensor, labels: Tensor) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counting 1/2.

    This is the Mann-Whitney U statistic divided by ``n_pos * n_neg`` (Hanley & McNeil, 1982).
    """
    pos, neg = scores[labels == 1].double(), scores[labels == 0].double()
    if pos.numel() == 0 or neg.numel() == 0:
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC from ``n_pos`` positives and ``n_neg`` negatives (Hanley & McNeil, 1982).

    ``SE^2 = (A(1-A) + (n_pos-1)(Q1-A^2) + (n_neg-1)(Q2-A^2)) / (n_pos n_neg)`` with ``Q1 = A/(2-A)`` and
    ``Q2 = 2A^2/(1+A)`` (their exponential-score approximation).
    """
    if n_pos < 1 or n_neg < 1:
        raise InputError(f"n_pos, n_neg: expected at least one of each class, got {n_pos} and {n_neg}")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)
    return math.sqrt(max(var, 0.0) / (n_pos * n_neg))


@torch.no_grad()
def predict_proba(model: nn.Module, images: Tensor, batch_size: int = 512) -> Tensor:
    """Softmax probabilities ``(N, C)`` of images in [0, 1]."""
    model.eval()
    out = [
        torch.softmax(model(normalize(images[i : i + batch_size])), dim=1) for i in range(0, len(images), batch_size)
    ]
    return torch.cat(out)


def evaluate(model: nn.Module, split: MedMNISTSplit, images: Tensor | None = None) -> dict[str, float]:
    """Accuracy (argmax), AUC (probability of class 1) and its standard error on a split.

    ``images`` replaces the split's images (e.g. with a marker stamped on them).
    """
    probs = predict_proba(model, split.images if images is None else images)
    acc = float((probs.argmax(1) == split.labels).double().mean())
    auc = binary_auc(probs[:, 1], split.labels)
    n_pos = int((split.labels == 1).sum())
    se = auc_standard_error(auc, n_pos, len(split) - n_pos) if 0 < n_pos < len(split) else float("nan")
    return {"accuracy": round(acc, 4), "auc": round(auc, 4), "auc_se": round(se, 4), "n": len(split)}


#: ``(epoch, model) -> None``: called after every epoch's updates (e.g. to keep extra weight averages).
EpochHook = Callable[[int, nn.Module], None]


@dataclass
class FitResult:
    """What :func:`fit` returns: the selected model (eval mode), its epoch and the per-epoch history."""

    model: MedCNN
    best_epoch: int
    history: list[dict[str, float]]


def _loss(logits: Tensor, labels: Tensor, weights: Tensor | None, smoothing: float) -> Tensor:
    return F.cross_entropy(logits, labels, weight=weights, label_smoothing=smoothing)


def fit(
    config: TrainConfig,
    tr: MedMNISTSplit,
    va: MedMNISTSplit,
    log: Callable[[str], None] | None = None,
    show_progress: bool = False,
    on_epoch: EpochHook | None = None,
) -> FitResult:
    """Train a :class:`MedCNN` on ``tr`` with ``config``; ``va`` is scored every epoch for the selection.

    Images are used as given (already resized). With ``config.mixup > 0`` every batch is mixed with a
    shuffled copy of itself, ``x = lam x_i + (1 - lam) x_j`` and the loss mixed the same way, ``lam ~
    Beta(a, a)`` (Zhang et al., ICLR 2018, "mixup: Beyond Empirical Risk Minimization");
    ``config.label_smoothing`` is the cross-entropy's smoothing (Szegedy et al., CVPR 2016).

    Args:
        config: the run's hyper-parameters and seed.
        tr: training images in [0, 1] and labels.
        va: the split the selection (best epoch) is made on; with ``select="swa"`` it is only logged.
        log: receives one line per epoch.
        show_progress: show a rich progress bar.
        on_epoch: called with the epoch and the model after each epoch's updates.
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    num_classes = len(DATASETS[config.dataset].class_names)
    model = MedCNN(1, num_classes, width=config.width, dropout=config.dropout)
    counts = torch.bincount(tr.labels, minlength=num_classes).double()
    weights = (counts.sum() / (num_classes * counts)).float() if config.class_balanced else None
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(tr) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.15
    )
    mixer = torch.distributions.Beta(config.mixup, config.mixup) if config.mixup > 0 else None
    best: tuple[float, int, dict[str, Tensor]] = (-1.0, -1, {})
    history: list[dict[str, float]] = []
    swa = torch.optim.swa_utils.AveragedModel(model) if config.select == "swa" else None
    swa_first = int(config.swa_start * config.epochs)
    bar = _progress(show_progress)
    task = bar.add_task(f"train {config.dataset}", total=config.epochs) if bar else None
    try:
        for epoch in range(config.epochs):
            model.train()
            order = torch.randperm(len(tr), generator=generator)
            total = 0.0
            for i in range(0, len(tr), config.batch_size):
                idx = order[i : i + config.batch_size]
                x = normalize(augment(tr.images[idx], config, generator))
                y = tr.labels[idx]
                if mixer is not None:
                    lam = float(mixer.sample())
                    perm = torch.randperm(len(idx), generator=generator)
                    logits = model(lam * x + (1 - lam) * x[perm])
                    loss = lam * _loss(logits, y, weights, config.label_smoothing) + (1 - lam) * _loss(
                        logits, y[perm], weights, config.label_smoothing
                    )
                else:
                    loss = _loss(model(x), y, weights, config.label_smoothing)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(idx)
            if on_epoch is not None:
                on_epoch(epoch, model)
            val = evaluate(model, va)
            history.append({"epoch": epoch, "loss": round(total / len(tr), 4), **val})
            if val["auc"] > best[0] or (config.select == "last" and epoch == config.epochs - 1):
                best = (val["auc"], epoch, copy.deepcopy(model.state_dict()))
            if swa is not None and epoch >= swa_first:
                swa.update_parameters(model)
            if log is not None:
                log(f"epoch {epoch:2d} loss {total / len(tr):.4f} val acc {val['accuracy']:.4f} auc {val['auc']:.4f}")
            if bar is not None and task is not None:
                bar.advance(task)
    finally:
        if bar is not None:
            bar.stop()
    if swa is not None:
        recompute_bn(swa, tr.images)
        model.load_state_dict(swa.module.state_dict())
        best = (best[0], config.epochs - 1, best[2])
    else:
        model.load_state_dict(best[2])
    model.eval()
    return FitResult(model=model, best_epoch=best[1], history=history)


def recompute_bn(model: nn.Module, images: Tensor, batch_size: int = 64) -> None:
    """Recompute a (weight-averaged) model's batch-norm statistics on unaugmented images in [0, 1]."""
    batches = [(normalize(images[i : i + batch_size]),) for i in range(0, len(images), batch_size)]
    torch.optim.swa_utils.update_bn(batches, model)


def train(
    config: TrainConfig,
    data_path: PathLikeStr | None = None,
    split_transform: SplitTransform | None = None,
    log: Callable[[str], None] | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Train a :class:`MedCNN` on the official train split; select on val AUC; report test numbers.

    Args:
        config: the run's hyper-parameters and seed.
        data_path: the dataset's ``.npz`` (default: the shared data folder).
        split_transform: applied to the train and val images before training (e.g. a shortcut marker).
        log: receives one line per epoch.
        show_progress: show a rich progress bar.
    """
    start = time.perf_counter()
    tr, va, te = (load_split(config.dataset, s, data_path) for s in ("train", "val", "test"))
    if split_transform is not None:
        tr.images = split_transform(tr.images, tr.labels)
        va.images = split_transform(va.images, va.labels)
    for part in (tr, va, te):
        part.images = resize_images(part.images, config.input_size)
    fitted = fit(config, tr, va, log=log, show_progress=show_progress)
    return TrainResult(
        model=fitted.model,
        config=config,
        best_epoch=fitted.best_epoch,
        val=evaluate(fitted.model, va),
        test=evaluate(fitted.model, te),
        history=fitted.history,
        seconds=time.perf_counter() - start,
    )


def save_result(result: TrainResult, out_dir: PathLikeStr, stem: str, extra: dict[str, Any] | None = None) -> Path:
    """Write ``<stem>.pt`` (state dict) and ``<stem>.json`` (config, epochs, val/test numbers) atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{stem}.pt"
    state = {k: v.detach().cpu().contiguous() for k, v in result.model.state_dict().items()}
    atomic_write(weights, lambda tmp: torch.save(state, str(tmp)))
    info = {**result.summary(), "torch": torch.__version__, **(extra or {})}
    atomic_write_json(out / f"{stem}.json", info)
    return weights


def _progress(show: bool) -> Any:
    if not show:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar.start()
    return bar
