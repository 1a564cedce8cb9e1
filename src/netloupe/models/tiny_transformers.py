"""Tiny ViT, DeiT and Swin classifiers and a synthetic task whose evidence has a known location.

No pretrained transformer weights are available offline, so the layer choice for transformers is
checked against synthetic ground truth: a small coloured square at a random position on an
achromatic noisy background (with an achromatic distractor square) decides the class (its colour).
A map that explains the prediction must point at the coloured square.

>>> images, labels, boxes = shapes_batch(2, seed=0)
>>> tuple(images.shape), tuple(labels.shape), tuple(boxes.shape)
((2, 3, 32, 32), (2,), (2, 4))
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = [
    "CLASS_COLOURS",
    "CLASS_NAMES",
    "IMAGE_SIZE",
    "TINY_ARCHS",
    "Scenes",
    "build_tiny",
    "load_tiny",
    "shapes_batch",
    "shapes_scenes",
    "weights_path",
]

IMAGE_SIZE = 32
CLASS_NAMES = ["red", "green", "blue", "yellow"]
#: RGB offset added to the object's pixels (the background is achromatic: equal in all channels)
CLASS_COLOURS = torch.tensor([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0], [0.8, 0.8, -0.8]])
TINY_ARCHS = ("tiny_vit_reg", "tiny_deit", "tiny_swin")


def shapes_batch(n: int, seed: int, size: int = IMAGE_SIZE, distractor: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """``n`` images ``(n, 3, size, size)``, labels ``(n,)`` and object boxes ``(n, 4)`` as (y0, x0, y1, x1).

    The box is exclusive at (y1, x1). Same ``seed``, same batch (a private generator; global RNG untouched).
    """
    scenes = shapes_scenes(n, seed, size, distractor)
    return scenes.images, scenes.labels, scenes.boxes


@dataclass(frozen=True)
class Scenes:
    """A batch of the coloured-square task with its parts, for deletion checks.

    ``images`` = ``background + distractor_delta + object_delta``; the deltas are zero outside their squares.
    ``distractors`` are (y0, x0, y1, x1) boxes, all -1 where no non-overlapping place was found.
    """

    images: Tensor
    labels: Tensor
    boxes: Tensor
    distractors: Tensor
    distractor_delta: Tensor
    object_delta: Tensor

    def without_distractor(self) -> Tensor:
        """The same images with the achromatic distractor square removed (the noise under it kept)."""
        return self.images - self.distractor_delta

    def without_object(self) -> Tensor:
        """The same images with the coloured object removed (the noise under it kept)."""
        return self.images - self.object_delta


def shapes_scenes(n: int, seed: int, size: int = IMAGE_SIZE, distractor: bool = True) -> Scenes:
    """The batch :func:`shapes_batch` returns (same seed, same images) with its parts (see :class:`Scenes`)."""
    g = torch.Generator().manual_seed(seed)
    grey = torch.randn(n, 1, size, size, generator=g) * 0.35
    images = grey.expand(n, 3, size, size).clone()
    images += torch.randn(n, 3, size, size, generator=g) * 0.05  # a little colour noise everywhere
    labels = torch.randint(0, len(CLASS_NAMES), (n,), generator=g)
    boxes = torch.zeros(n, 4, dtype=torch.long)
    distractors = torch.full((n, 4), -1, dtype=torch.long)
    distractor_delta = torch.zeros_like(images)
    object_delta = torch.zeros_like(images)
    sides = torch.randint(5, 9, (n, 2), generator=g)
    for i in range(n):
        side, dside = int(sides[i, 0]), int(sides[i, 1])
        y0, x0 = (int(v) for v in torch.randint(0, size - side + 1, (2,), generator=g))
        boxes[i] = torch.tensor([y0, x0, y0 + side, x0 + side])
        # an achromatic distractor that does not overlap the object
        for _ in range(20 if distractor else 0):
            dy, dx = (int(v) for v in torch.randint(0, size - dside + 1, (2,), generator=g))
            if dy >= y0 + side or dy + dside <= y0 or dx >= x0 + side or dx + dside <= x0:
                distractor_delta[i, :, dy : dy + dside, dx : dx + dside] = 1.2
                distractors[i] = torch.tensor([dy, dx, dy + dside, dx + dside])
                break
        object_delta[i, :, y0 : y0 + side, x0 : x0 + side] = CLASS_COLOURS[labels[i]][:, None, None]
    images += distractor_delta + object_delta
    return Scenes(images, labels, boxes, distractors, distractor_delta, object_delta)


def build_tiny(arch: str, num_classes: int = len(CLASS_NAMES)) -> nn.Module:
    """A randomly initialised tiny timm model for 32x32 inputs.

    ``tiny_vit_reg``: ViT, patch 4 (8x8 grid), class token + 4 register tokens, 4 blocks of width 64.
    ``tiny_deit``: DeiT-style ViT with class and distillation tokens (the two heads averaged), same size.
    ``tiny_swin``: Swin, patch 2, window 4, two stages (16x16 then 8x8), channels-last stage outputs.
    """
    from timm.models.deit import VisionTransformerDistilled
    from timm.models.swin_transformer import SwinTransformer
    from timm.models.vision_transformer import VisionTransformer

    size, n = IMAGE_SIZE, num_classes
    if arch == "tiny_vit_reg":
        return VisionTransformer(
            img_size=size, num_classes=n, patch_size=4, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0, reg_tokens=4
        )
    if arch == "tiny_deit":
        return VisionTransformerDistilled(
            img_size=size, num_classes=n, patch_size=4, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0
        )
    if arch == "tiny_swin":
        return SwinTransformer(
            img_size=size, num_classes=n, patch_size=2, window_size=4, embed_dim=32, depths=(2, 2),
            num_heads=(2, 4), mlp_ratio=2.0,
        )  # fmt: skip
    raise InputError(f"arch: expected one of {', '.join(TINY_ARCHS)}, got {arch!r}")


def weights_path(arch: str) -> Path:
    """Where the shipped weights of ``arch`` live (``netloupe/models/data/<arch>.pt``)."""
    if arch not in TINY_ARCHS:
        raise InputError(f"arch: expected one of {', '.join(TINY_ARCHS)}, got {arch!r}")
    return Path(str(resources.files("netloupe.models") / "data" / f"{arch}.pt"))


def load_tiny(arch: str) -> nn.Module:
    """The tiny model with its shipped weights (trained by ``scripts/train_tiny_transformers.py``), in eval mode."""
    model = build_tiny(arch)
    path = weights_path(arch)
    if not path.is_file():
        raise InputError(f"arch: no shipped weights for {arch!r} at {path}; run scripts/train_tiny_transformers.py")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


def locate_scores(maps: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Pointing-game hits (strict: the maximum inside the object's box) and energy inside the box.

    Args:
        maps: ``(N, H, W)`` non-negative maps at the input's resolution.
        boxes: ``(N, 4)`` object boxes as (y0, x0, y1, x1), end exclusive (as :func:`shapes_batch` gives).

    Returns:
        bool ``(N,)`` hits and ``(N,)`` energy shares (NaN for an all-zero map).
    """
    from ..evaluation.energy import box_mask, energy_share
    from ..evaluation.localization import pointing_game_hits

    xyxy = boxes[:, [1, 0, 3, 2]].float()
    hits = pointing_game_hits(maps.float(), gt_boxes=xyxy[:, None, :], tolerance=0.0)
    masks = box_mask(tuple(maps.shape[-2:]), xyxy)
    return hits, energy_share(maps.float(), masks, spatial=2)
