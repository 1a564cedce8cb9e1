"""What to explain: a score per sample derived from the model's outputs.

A *target* is any callable ``outputs (N, ...) -> scores (N,)``. Class targets are the common case and
are resolved to a ``(N, K)`` tensor of class indices, so that K classes (top-k) share one forward
pass and methods that need a class index (CAM, Score-CAM) can use it.

Single-logit (sigmoid) classifiers, ``outputs`` of shape (N, 1), follow one documented convention:
class 1 ("positive") is explained by the logit ``+z`` and class 0 ("negative") by ``-z``; their
probabilities are ``sigmoid(z)`` and ``1 - sigmoid(z)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .errors import TargetError, did_you_mean

__all__ = [
    "BoxScoreTarget",
    "ClassTarget",
    "EmbeddingTarget",
    "SegmentationTarget",
    "SoftmaxTarget",
    "TargetOutputs",
    "TargetSet",
    "TargetSpec",
    "TopK",
    "probabilities",
    "resolve_targets",
]


@dataclass(frozen=True)
class ClassTarget:
    """The raw logit of one class (the pre-softmax score, as in Grad-CAM)."""

    index: int

    def __call__(self, outputs: Tensor) -> Tensor:
        return _class_scores(outputs, torch.full((outputs.shape[0], 1), self.index, device=outputs.device))[:, 0]


@dataclass(frozen=True)
class SoftmaxTarget:
    """The softmax probability of one class."""

    index: int

    def __call__(self, outputs: Tensor) -> Tensor:
        return probabilities(outputs)[:, self.index]


class EmbeddingTarget:
    """Zero-shot (CLIP-style) target: similarity of the image embedding with a given direction.

    The model outputs embeddings ``(N, D)`` (e.g. CLIP's image tower); ``direction`` is a text
    embedding ``(D,)`` or the difference of two (Radford et al. 2021: zero-shot logits are cosine
    similarities of image and text embeddings). ``similarity="cosine"`` (default) normalises both;
    ``"dot"`` uses the raw dot product. Several directions: one target each.
    """

    def __init__(self, direction: Tensor, similarity: str = "cosine") -> None:
        if not isinstance(direction, Tensor) or direction.ndim != 1 or direction.numel() == 0:
            raise TargetError(f"target: the direction must be a 1-D tensor (D,), got {_shape_of(direction)}")
        if similarity not in ("cosine", "dot"):
            raise TargetError(f"target: similarity must be 'cosine' or 'dot', got {similarity!r}")
        self.direction = direction.detach()
        self.similarity = similarity

    def __call__(self, outputs: Tensor) -> Tensor:
        emb = outputs.reshape(outputs.shape[0], -1)
        if emb.shape[1] != self.direction.numel():
            raise TargetError(
                f"target: the model's embeddings have {emb.shape[1]} dimensions, the direction has "
                f"{self.direction.numel()}"
            )
        d = self.direction.to(device=emb.device, dtype=emb.dtype)
        if self.similarity == "cosine":
            return torch.nn.functional.cosine_similarity(emb, d[None, :], dim=1)
        return emb @ d

    def __repr__(self) -> str:
        return f"EmbeddingTarget(D={self.direction.numel()}, similarity={self.similarity!r})"


class BoxScoreTarget:
    """Detection target: the score of the predicted box that matches a reference box and class.

    For torchvision detectors (Faster R-CNN, RetinaNet, FCOS, ...) whose eval output is one dict per
    image with ``boxes`` (x0, y0, x1, y1), ``labels`` and ``scores``. Per image, among the predictions
    of class ``label`` whose IoU with ``box`` is at least ``iou_threshold``, the score of the best
    overlapping one (0, a constant, when none matches). ``box``: one box for every image ``(4,)`` or
    one per image ``(N, 4)``.
    """

    def __init__(self, box: Tensor | Sequence[float], label: int, iou_threshold: float = 0.5) -> None:
        b = torch.as_tensor(box, dtype=torch.float32)
        if b.shape[-1] != 4 or b.ndim not in (1, 2):
            raise TargetError(f"target: box must be (4,) or (N, 4) as (x0, y0, x1, y1), got {tuple(b.shape)}")
        if not 0.0 <= iou_threshold <= 1.0:
            raise TargetError(f"target: iou_threshold must be in [0, 1], got {iou_threshold}")
        self.box = b
        self.label = int(label)
        self.iou_threshold = iou_threshold

    def __call__(self, outputs: Any) -> Tensor:
        from torchvision.ops import box_iou

        if not isinstance(outputs, (list, tuple)) or not all(isinstance(o, dict) for o in outputs):
            raise TargetError(
                "target: BoxScoreTarget needs a detector's output (a list of dicts with boxes, labels, scores); "
                f"got {type(outputs).__name__}"
            )
        scores = []
        for i, det in enumerate(outputs):
            ref = self.box if self.box.ndim == 1 else self.box[i]
            keep = det["labels"] == self.label
            boxes, values = det["boxes"][keep], det["scores"][keep]
            if boxes.shape[0] == 0:
                scores.append(det["scores"].sum() * 0.0)
                continue
            iou = box_iou(ref.to(boxes)[None], boxes)[0]
            best = int(iou.argmax())
            ok = bool(iou[best] >= self.iou_threshold)
            scores.append(values[best] if ok else values.sum() * 0.0)
        return torch.stack(scores)

    def __repr__(self) -> str:
        return f"BoxScoreTarget(box={self.box.tolist()}, label={self.label}, iou>={self.iou_threshold})"


class SegmentationTarget:
    """Segmentation target: the sum of one class's logits over a region (2-D or 3-D segmenters).

    The model outputs ``(N, classes, *S)`` logits. The region is ``mask`` (``(*S)`` or ``(N, *S)``,
    bool or weights), or, when None, the pixels/voxels predicted as the class (argmax over classes,
    taken from the detached outputs), as in Vinogradova et al. 2020 ("Towards Interpretable Semantic
    Segmentation via Gradient-weighted Class Activation Mapping", AAAI student abstract).
    """

    def __init__(self, class_index: int, mask: Tensor | None = None) -> None:
        self.class_index = int(class_index)
        self.mask = mask

    def __call__(self, outputs: Tensor) -> Tensor:
        if not isinstance(outputs, Tensor) or outputs.ndim < 3:
            raise TargetError(f"target: a segmentation target needs (N, classes, *S) logits, got {_shape_of(outputs)}")
        if not 0 <= self.class_index < outputs.shape[1]:
            raise TargetError(f"target: class index must be in [0, {outputs.shape[1] - 1}], got {self.class_index}")
        logits = outputs[:, self.class_index]
        if self.mask is None:
            region = (outputs.detach().argmax(1) == self.class_index).to(logits.dtype)
        else:
            region = self.mask.to(device=logits.device, dtype=logits.dtype)
            if tuple(region.shape[-(outputs.ndim - 2) :]) != tuple(logits.shape[1:]):
                raise TargetError(
                    f"target: mask of shape {tuple(region.shape)} does not match the outputs' {tuple(logits.shape[1:])}"
                )
        return (logits * region).flatten(1).sum(1)

    def __repr__(self) -> str:
        region = "given" if self.mask is not None else "predicted"
        return f"SegmentationTarget(class_index={self.class_index}, mask={region!r})"


class TargetOutputs(nn.Module):
    """Wraps a model with structured outputs (detections, dicts) so it returns ``(N, M)`` target scores.

    ``TargetOutputs(detector, BoxScoreTarget(box, 3))`` is a plain classifier-like module for every
    CAM method: explain column ``j`` with ``targets=j`` (layers are then named ``model.<name>``).
    """

    def __init__(self, model: nn.Module, *targets: Callable[[Any], Tensor]) -> None:
        super().__init__()
        if not targets:
            raise TargetError("target: TargetOutputs needs at least one target")
        self.model = model
        self.targets = targets

    def forward(self, inputs: Tensor) -> Tensor:
        out = self.model(inputs)
        return torch.stack([t(out).reshape(inputs.shape[0]) for t in self.targets], dim=1)


def _shape_of(value: object) -> str:
    return str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__


@dataclass(frozen=True)
class TopK:
    """The k highest-scoring classes of each sample, one map each."""

    k: int = 1

    def __post_init__(self) -> None:
        if self.k < 1:
            raise TargetError(f"top_k: must be >= 1, got {self.k}")


TargetSpec = int | str | Sequence[int] | TopK | Callable[[Tensor], Tensor] | Sequence[Callable[[Tensor], Tensor]] | None


def probabilities(outputs: Tensor) -> Tensor:
    """Class probabilities: softmax for multi-class logits, (1 - p, p) for a single sigmoid logit."""
    logits = outputs.reshape(outputs.shape[0], -1).float()
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], dim=1)
    return torch.softmax(logits, dim=1)


def _num_classes(outputs: Tensor) -> int:
    n = outputs.reshape(outputs.shape[0], -1).shape[1]
    return 2 if n == 1 else n


def _class_scores(outputs: Tensor, class_ids: Tensor) -> Tensor:
    logits = outputs.reshape(outputs.shape[0], -1)
    if logits.shape[1] == 1:  # single sigmoid logit: class 1 -> +z, class 0 -> -z
        z = logits.expand_as(class_ids)
        return torch.where(class_ids == 1, z, -z)
    return logits.gather(1, class_ids)


@dataclass
class TargetSet:
    """K targets per sample: either class indices ``(N, K)`` or K callables."""

    class_ids: Tensor | None
    functions: tuple[Callable[[Tensor], Tensor], ...] = ()

    @property
    def k(self) -> int:
        return self.class_ids.shape[1] if self.class_ids is not None else len(self.functions)

    def scores(self, outputs: Tensor) -> Tensor:
        """``(N, K)`` scores whose gradients are explained."""
        if self.class_ids is not None:
            return _class_scores(outputs, self.class_ids)
        return torch.stack([fn(outputs).reshape(outputs.shape[0]) for fn in self.functions], dim=1)

    def expanded_scores(self, outputs: Tensor, sample: Tensor, k: int, softmax: bool) -> Tensor:
        """Scores of target ``k`` for extra forward passes whose rows belong to samples ``sample``.

        Used by methods that run masked or ablated copies of the inputs (Score-CAM, Ablation-CAM).
        """
        if self.class_ids is not None:
            ids = self.class_ids[sample, k : k + 1]
            if softmax:
                return probabilities(outputs).gather(1, ids)[:, 0]
            return _class_scores(outputs, ids)[:, 0]
        return self.functions[k](outputs).reshape(outputs.shape[0])


def resolve_targets(spec: TargetSpec, outputs: Tensor, class_names: Sequence[str] | None = None) -> TargetSet:
    """Turn a user's target specification into a :class:`TargetSet` for these outputs."""
    n = outputs.shape[0]
    num_classes = _num_classes(outputs)
    device = outputs.device

    def check(idx: int) -> int:
        if not 0 <= idx < num_classes:
            raise TargetError(f"target: class index must be in [0, {num_classes - 1}], got {idx}")
        return idx

    if spec is None:
        spec = TopK(1)
    if isinstance(spec, TopK):
        if spec.k > num_classes:
            raise TargetError(f"top_k: the model has {num_classes} classes, got top_k={spec.k}")
        probs = probabilities(outputs.detach())
        return TargetSet(class_ids=probs.topk(spec.k, dim=1).indices)
    if isinstance(spec, bool):
        raise TargetError("target: expected a class index, a class name, TopK or a callable, got a bool")
    if isinstance(spec, int):
        return TargetSet(class_ids=torch.full((n, 1), check(spec), dtype=torch.long, device=device))
    if isinstance(spec, str):
        return TargetSet(class_ids=torch.full((n, 1), _class_index(spec, class_names), device=device))
    if callable(spec):
        return TargetSet(class_ids=None, functions=(spec,))
    if isinstance(spec, Sequence) and len(spec) > 0:
        if all(callable(s) for s in spec):
            return TargetSet(class_ids=None, functions=tuple(spec))  # type: ignore[arg-type]
        if all(isinstance(s, int) and not isinstance(s, bool) for s in spec):
            if len(spec) != n:
                raise TargetError(f"target: a list of class indices needs one per sample ({n}), got {len(spec)}")
            ids = [check(int(s)) for s in spec if isinstance(s, int)]
            return TargetSet(class_ids=torch.tensor(ids, dtype=torch.long, device=device)[:, None])
    raise TargetError(
        "target: expected None (predicted class), a class index, a class name, a list of indices (one per "
        f"sample), TopK(k), or callables returning one score per sample; got {spec!r}"
    )


def _class_index(name: str, class_names: Sequence[str] | None) -> int:
    if class_names is None:
        raise TargetError(f"target: class name {name!r} given but the model has no class names; pass an index")
    lowered = [c.lower() for c in class_names]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    if name.isdigit():
        return int(name)
    raise TargetError(f"target: unknown class name {name!r}{did_you_mean(name.lower(), lowered)}")
