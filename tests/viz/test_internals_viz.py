from __future__ import annotations

import numpy as np
from PIL import Image

from netloupe.viz.scatter import snap_to_grid, thumbnail_map


def test_snap_to_grid_keeps_the_point_nearest_each_cell_centre() -> None:
    coords = np.array([[0.0, 0.0], [0.9, 0.9], [1.0, 1.0], [0.1, 0.2], [0.6, 0.4]])
    cells = snap_to_grid(coords, 2)
    # (row, col), row 0 at the top (large y): (1, 0) holds 0 and 3; 3 is nearer its centre (0.25, 0.25)
    assert cells == {(1, 0): 3, (0, 1): 1, (1, 1): 4}


def test_thumbnail_map_places_images_and_frames_them_by_label() -> None:
    colours = [Image.new("RGB", (5, 5), c) for c in ((255, 0, 0), (0, 0, 255))]
    canvas = thumbnail_map(
        np.array([[0.0, 0.0], [1.0, 1.0]]),
        lambda i: colours[i],
        grid=2,
        thumb=6,
        labels=np.array([0, 1]),
        border=1,
    )
    assert canvas.shape == (12, 12, 3)
    assert tuple(canvas[9, 3]) == (255, 0, 0)  # point 0 at bottom-left, interior pixel
    assert tuple(canvas[3, 9]) == (0, 0, 255)  # point 1 at top-right
    assert tuple(canvas[0, 0]) == (255, 255, 255)  # empty cell
    assert tuple(canvas[6, 0]) != (255, 0, 0)  # frame in the label colour, not the image colour
