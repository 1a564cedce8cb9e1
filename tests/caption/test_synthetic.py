"""The synthetic captioning scenes: fixed by the seed, and every grounded word names what is in its box."""

from __future__ import annotations

import numpy as np
import pytest

from netloupe.caption.synthetic import COLOURS, INVERSE, SIZE, make_scenes, split_scenes
from netloupe.errors import InputError


def _probe(shape: str, box: tuple[int, int, int, int]) -> tuple[int, int]:
    """A pixel surely inside the drawn shape: the box centre (lower for a triangle, which is wide at the bottom)."""
    x0, y0, x1, y1 = box
    return (x0 + x1) // 2, (y0 + int(0.7 * (y1 - y0)) if shape == "triangle" else (y0 + y1) // 2)


def test_same_seed_same_scenes_and_pixels() -> None:
    a, b = make_scenes(4, seed=7), make_scenes(4, seed=7)
    assert a == b
    assert np.array_equal(np.asarray(a[0].image()), np.asarray(b[0].image()))
    assert make_scenes(4, seed=8) != a
    sizes = {k: len(v) for k, v in split_scenes(5, 3, 2).items()}
    assert sizes == {"train": 5, "dev": 3, "test": 2}


@pytest.mark.parametrize("inverse", [False, True])
def test_groundings_point_at_the_named_colour_and_shape(inverse: bool) -> None:
    for scene in make_scenes(40, seed=0):
        image = np.asarray(scene.image()).astype(int)
        words, grounds = scene.caption(inverse), scene.groundings(inverse)
        assert len(words) == len(grounds)
        assert scene.objects[0] != scene.objects[1]
        for t, obj in enumerate(grounds):
            if obj is None:
                assert words[t] in ("a", "above", "below", "left", "right", "of")
                continue
            colour, shape = scene.objects[obj]
            assert words[t] in (colour, shape)
            x, y = _probe(shape, scene.boxes[obj])
            # the pixel there is the named colour up to the sd-6 noise
            assert np.abs(image[y, x] - np.array(COLOURS[colour])).max() <= 30, (scene, t)
        # colour then shape of the same object, in caption order
        named = [g for g in grounds if g is not None]
        assert named == ([1, 1, 0, 0] if inverse else [0, 0, 1, 1])


def test_relation_holds_geometrically_and_boxes_stay_inside() -> None:
    for scene in make_scenes(60, seed=1):
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = scene.boxes
        for v in (ax0, ay0, bx0, by0):
            assert v >= 0
        for v in (ax1, ay1, bx1, by1):
            assert v <= SIZE
        rel = scene.relation
        if rel == "above":
            assert ay1 < by0  # first object entirely higher (image y grows downwards)
        elif rel == "below":
            assert ay0 > by1
        elif rel == "left of":
            assert ax1 < bx0
        else:
            assert ax0 > bx1
        inv = scene.caption(inverse=True)
        assert " ".join(inv[3:-3]) == INVERSE[rel]


def test_bad_count() -> None:
    with pytest.raises(InputError, match="n"):
        make_scenes(-1, 0)
