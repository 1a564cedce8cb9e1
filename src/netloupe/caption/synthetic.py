"""Synthetic captioning scenes whose every word's grounding is known: "a red circle above a blue square".

Each scene has two coloured shapes on a noisy grey background; the caption names the first shape, the
spatial relation and the second shape. The scene is drawn from the caption's parts by code with a fixed
seed, so the box of every colour and shape word is exact ground truth for a pointing game (Zhang et al.,
2016, "Top-down neural attention by excitation backprop"): does a word's map peak on its object?

A relation has two phrasings ("a red circle above a blue square" = "a blue square below a red circle");
both are references for BLEU/CIDEr, the first one is the training target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..errors import InputError

__all__ = [
    "COLOURS",
    "INVERSE",
    "RELATIONS",
    "SHAPES",
    "SIZE",
    "Scene",
    "make_scenes",
    "render_scene",
    "split_scenes",
]

SIZE = 224
SHAPES = ("circle", "square", "triangle")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 165, 60),
    "blue": (45, 85, 215),
    "yellow": (230, 195, 30),
}
RELATIONS = ("above", "below", "left of", "right of")
INVERSE = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (pixels, x1/y1 exclusive)


@dataclass(frozen=True)
class Scene:
    """One synthetic scene: its two objects, the relation of the first to the second, and boxes.

    ``objects`` are ``(colour, shape)`` pairs; ``boxes[k]`` is object k's box in the 224x224 image.
    """

    objects: tuple[tuple[str, str], tuple[str, str]]
    relation: str
    boxes: tuple[Box, Box]
    background: int
    noise_seed: int

    def caption(self, inverse: bool = False) -> list[str]:
        """The caption as words; ``inverse`` names the second object first with the inverse relation."""
        (c1, s1), (c2, s2) = self.objects
        rel = self.relation
        if inverse:
            (c1, s1), (c2, s2), rel = (c2, s2), (c1, s1), INVERSE[rel]
        return ["a", c1, s1, *rel.split(), "a", c2, s2]

    def references(self) -> list[list[str]]:
        """Both phrasings (the training target first)."""
        return [self.caption(), self.caption(inverse=True)]

    def groundings(self, inverse: bool = False) -> list[int | None]:
        """For each word of :meth:`caption`: the index of the object it names (colour and shape), else None."""
        first, second = (1, 0) if inverse else (0, 1)
        rel = INVERSE[self.relation] if inverse else self.relation
        return [None, first, first, *([None] * len(rel.split())), None, second, second]

    def image(self) -> Image.Image:
        """The scene drawn as a 224x224 RGB image (deterministic)."""
        return render_scene(self)


def _draw(draw: ImageDraw.ImageDraw, shape: str, box: Box, colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse((x0, y0, x1 - 1, y1 - 1), fill=colour)
    elif shape == "square":
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour)
    elif shape == "triangle":
        draw.polygon([((x0 + x1 - 1) / 2, y0), (x0, y1 - 1), (x1 - 1, y1 - 1)], fill=colour)
    else:
        raise InputError(f"shape: expected one of {list(SHAPES)}, got {shape!r}")


def render_scene(scene: Scene) -> Image.Image:
    """Grey background + Gaussian pixel noise (sd 6 grey levels) + the two filled shapes."""
    rng = np.random.default_rng(scene.noise_seed)
    base = np.full((SIZE, SIZE, 3), scene.background, dtype=np.float32)
    image = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for (colour, shape), box in zip(scene.objects, scene.boxes, strict=True):
        _draw(draw, shape, box, COLOURS[colour])
    arr = np.asarray(image, dtype=np.float32) + rng.normal(0.0, 6.0, (SIZE, SIZE, 3))
    return Image.fromarray(arr.clip(0, 255).round().astype(np.uint8))


def _place(rng: np.random.Generator, relation: str, sizes: tuple[int, int]) -> tuple[Box, Box] | None:
    """Boxes for object 0 and 1 such that 0 is ``relation`` 1 unambiguously (None: try again)."""
    centres = []
    for s in sizes:
        lo, hi = s / 2 + 6, SIZE - s / 2 - 6
        centres.append(rng.uniform(lo, hi, size=2))
    (xa, ya), (xb, yb) = centres
    dx, dy = xa - xb, ya - yb
    vertical = relation in ("above", "below")
    major, minor = (dy, dx) if vertical else (dx, dy)
    want_negative = relation in ("above", "left of")  # image y grows downwards
    if (major < 0) != want_negative:
        return None
    if abs(major) < (sizes[0] + sizes[1]) / 2 + 12 or abs(minor) > 0.6 * abs(major):
        return None
    corners = [(round(float(x) - s / 2), round(float(y) - s / 2), s) for (x, y), s in zip(centres, sizes, strict=True)]
    boxes = tuple((x0, y0, x0 + s, y0 + s) for x0, y0, s in corners)
    return boxes[0], boxes[1]


def make_scenes(n: int, seed: int) -> list[Scene]:
    """``n`` scenes drawn with ``numpy.random.default_rng(seed)``; the two objects always differ."""
    if n < 0:
        raise InputError(f"n: expected >= 0 scenes, got {n}")
    rng = np.random.default_rng(seed)
    colours, scenes = list(COLOURS), list[Scene]()
    while len(scenes) < n:
        a = (colours[rng.integers(len(colours))], SHAPES[rng.integers(len(SHAPES))])
        b = (colours[rng.integers(len(colours))], SHAPES[rng.integers(len(SHAPES))])
        if a == b:
            continue
        relation = RELATIONS[rng.integers(len(RELATIONS))]
        sizes = (int(rng.integers(44, 65)), int(rng.integers(44, 65)))
        boxes = None
        while boxes is None:
            boxes = _place(rng, relation, sizes)
        background = int(rng.integers(150, 226))
        scenes.append(Scene((a, b), relation, boxes, background, int(rng.integers(2**31))))
    return scenes


def split_scenes(train: int = 1000, dev: int = 150, test: int = 200, seed: int = 0) -> dict[str, list[Scene]]:
    """Independent train/dev/test scene lists (seeds ``seed``, ``seed + 1``, ``seed + 2``)."""
    return {
        "train": make_scenes(train, seed),
        "dev": make_scenes(dev, seed + 1),
        "test": make_scenes(test, seed + 2),
    }
