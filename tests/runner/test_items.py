"""Listing a dataset: folders (recursive, stable ids), CSV listings, clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from netloupe.errors import InputError
from netloupe.runner import discover_items


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_folder_is_searched_recursively_with_stable_ids(tmp_path: Path) -> None:
    for rel in ["b.png", "a.jpg", "sub/c.JPEG", "sub/deeper/d e.png", ".hidden/x.png", "sub/.y.png", "notes.txt"]:
        _touch(tmp_path / rel)
    items = discover_items(tmp_path)
    assert [it.id for it in items] == [
        "a.jpg",
        "b.png",
        "sub~c.JPEG",
        "sub_deeper_d_e.png+" + hashlib.sha1(b"sub/deeper/d e.png").hexdigest()[:8],
    ]
    assert items[2].source == str(tmp_path / "sub" / "c.JPEG")
    assert [it.id for it in discover_items(tmp_path, limit=2)] == ["a.jpg", "b.png"]


def test_names_that_would_collide_get_distinct_ids(tmp_path: Path) -> None:
    for rel in ["cat.png", "cat.jpg", "x/y.png", "x_y.png", "x~y.png", "a b.png", "a_b.png"]:
        _touch(tmp_path / rel)
    ids = {Path(it.source).relative_to(tmp_path).as_posix(): it.id for it in discover_items(tmp_path)}
    assert ids["cat.png"] == "cat.png" and ids["cat.jpg"] == "cat.jpg"
    assert ids["x/y.png"] == "x~y.png" and ids["x_y.png"] == "x_y.png"
    assert ids["x~y.png"] == "x_y.png+" + hashlib.sha1(b"x~y.png").hexdigest()[:8]
    assert ids["a b.png"] == "a_b.png+" + hashlib.sha1(b"a b.png").hexdigest()[:8] and ids["a_b.png"] == "a_b.png"
    assert len(set(ids.values())) == 7


def test_ids_never_change_when_files_are_added(tmp_path: Path) -> None:
    """Issue 16 item 7: a new file whose stem (or slug) matches an existing item must not rename that item."""
    for rel in ["cat.png", "x_y.png", "a_b.png", "deep/er/z.png"]:
        _touch(tmp_path / rel)
    before = {it.source: it.id for it in discover_items(tmp_path)}
    for rel in ["cat.jpg", "x/y.png", "a b.png", "deep/er/z.jpg", "deep_er/z.png"]:
        _touch(tmp_path / rel)
    after = {it.source: it.id for it in discover_items(tmp_path)}
    assert {src: after[src] for src in before} == before
    assert len(set(after.values())) == len(after)


def test_csv_with_header_labels_and_root(tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_text("image,class_index,name\nb.png,3,three\nsub/a.png,7,seven\n")
    items = discover_items(tmp_path / "list.csv", root=tmp_path / "imgs")
    assert [(it.id, it.label) for it in items] == [("b.png", "3"), ("sub~a.png", "7")]
    assert items[1].source == str(tmp_path / "imgs" / "sub" / "a.png")


def test_csv_without_header_uses_the_first_column(tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_text("/data/one.png\n/data/two.png\n")
    items = discover_items(tmp_path / "list.csv")
    assert [(it.source, it.id, it.label) for it in items] == [
        ("/data/one.png", "data~one.png", ""),
        ("/data/two.png", "data~two.png", ""),
    ]


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "no image, DICOM or NIfTI files"),
        (lambda p: p.write_text("x"), "neither a folder nor a .csv"),
    ],
)
def test_bad_datasets_get_one_line_errors(tmp_path: Path, setup, match: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "ds"
    setup(target)
    with pytest.raises(InputError, match=match):
        discover_items(target)


def test_csv_listing_an_image_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_text("path\na.png\na.png\n")
    with pytest.raises(InputError, match="more than once"):
        discover_items(tmp_path / "list.csv")


def test_rerun_after_a_same_stem_file_appears_redoes_nothing(tmp_path: Path) -> None:
    """Issue 16 item 7 end to end: ``cat.png`` done; ``cat.jpg`` appears; the re-run does only ``cat.jpg``,
    keeps ``cat.png``'s folder and lists every folder in the manifest."""
    import json

    from PIL import Image
    from tests.runner._job import tiny_model

    from netloupe.runner import run_dataset

    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(data / "cat.png")
    out = tmp_path / "out"
    first = run_dataset(data, tiny_model(), ["gradcam"], out, top_k=1, workers=0, writers=1)
    assert first.done == 1
    before = (out / "cat.png" / "maps.npz").stat().st_mtime_ns
    Image.new("RGB", (40, 30), (10, 200, 10)).save(data / "cat.jpg")
    second = run_dataset(data, tiny_model(), ["gradcam"], out, top_k=1, workers=0, writers=1)
    assert (second.done, second.skipped) == (1, 1)  # only cat.jpg was computed
    assert (out / "cat.png" / "maps.npz").stat().st_mtime_ns == before
    manifest = json.loads((out / "manifest.json").read_text())
    ids = sorted(im["id"] for im in manifest["items"])
    assert ids == ["cat.jpg", "cat.png"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ids
