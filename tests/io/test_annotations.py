"""Reading localization datasets: every bad row is reported with file and row, and skipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netloupe.errors import InputError
from netloupe.io.annotations import load_mask, read_localization_dataset


def _image(path: Path, w: int = 20, h: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)


def test_bad_rows_are_skipped_with_file_and_row(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png", "d.png", "e.png"):
        _image(tmp_path / "images" / name)
    (tmp_path / "labels.csv").write_text(
        "image,class_index\na.png,1\nb.png,2\nc.png,x\nd.png,4\nmissing.png,5\n"
    )
    (tmp_path / "boxes.csv").write_text(
        "image,x0,y0,x1,y1\n"
        "a.png,0,0,10,5\n"
        "a.png,2,2,20.3,10\n"  # inside within the 0.5 px tolerance
        "b.png,0,0,30,5\n"  # outside a 20x10 image
        "c.png,0,0,5,5\n"
        "e.png,0,0,5,5\n"  # no label
        "missing.png,0,0,5,5\n"
    )
    ds = read_localization_dataset(tmp_path)
    assert [it.image.name for it in ds.items] == ["a.png"]
    assert ds.items[0].boxes == ((0.0, 0.0, 10.0, 5.0), (2.0, 2.0, 20.3, 10.0))
    assert ds.items[0].size == (20, 10)
    text = "\n".join(ds.skipped)
    assert "labels.csv row 4: c.png: label 'x' is not an integer" in text
    assert "boxes.csv row 4: b.png: box (0.0, 0.0, 30.0, 5.0) lies outside the image (20x10)" in text
    assert "d.png: no boxes in boxes.csv" in text
    assert "e.png: no label" in text
    assert "missing.png: image file" in text
    assert len(ds.skipped) == 5


def test_masks_with_wrong_size_are_skipped(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.png")
    _image(tmp_path / "images" / "b.png")
    (tmp_path / "masks").mkdir()
    m = np.zeros((10, 20), np.uint8)
    m[2:5, 3:9] = 255
    Image.fromarray(m).save(tmp_path / "masks" / "a_mask.png")
    Image.fromarray(np.zeros((11, 20), np.uint8)).save(tmp_path / "masks" / "b_mask.png")
    (tmp_path / "labels.csv").write_text("image,label,mask\na.png,0,a_mask.png\nb.png,1,b_mask.png\n")
    ds = read_localization_dataset(tmp_path, label_column="label")
    assert ds.has_masks
    assert [it.image.name for it in ds.items] == ["a.png"]
    assert ds.skipped == ["labels.csv: b.png: mask b_mask.png is 20x11, the image 20x10"]
    mask = load_mask(ds.items[0].mask)  # type: ignore[arg-type]
    assert mask.sum() == 18
    assert mask[2, 3]
    assert not mask[5, 3]


def test_missing_column_and_folder(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("name,class\n")
    with pytest.raises(InputError, match="missing column"):
        read_localization_dataset(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        read_localization_dataset(tmp_path / "nope")
