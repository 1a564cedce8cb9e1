"""The local engine: equal to explain_images, bad items recorded, resumable, interruptible."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tests.runner._job import CLASSES, make_images, tiny_model

from netloupe.errors import InputError
from netloupe.pipeline import explain_images
from netloupe.runner import StopFlag, run_dataset
from netloupe.viz.colormaps import apply_colormap
from netloupe.viz.overlay import overlay, overlay_batch

METHODS = ["gradcam", "gradcam++"]


def _run(dataset: Path, out: Path, **kw: object):  # type: ignore[no-untyped-def]
    opts: dict[str, object] = {"top_k": 2, "batch_size": 4, "workers": 0, "writers": 2}
    opts.update(kw)
    return run_dataset(dataset, tiny_model(), METHODS, out, **opts)  # type: ignore[arg-type]


def _manifest(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "manifest.json").read_text())


def _assert_consistent(out: Path) -> None:
    """Every done record's files exist, are complete, and no temporary file has a final name."""
    for line in (out / "journal.jsonl").read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec["status"] != "done":
            continue
        for entry in rec["maps"]:
            with Image.open(out / entry["overlay"]) as im:
                im.load()
                assert im.size == (rec["width"], rec["height"])
            with np.load(out / entry["array"]) as z:
                assert z[entry["array_key"]].shape[1:] == (rec["height"], rec["width"])


def test_overlay_batch_is_the_documented_blend() -> None:
    """round((1 - w) image + w colour(v)), w = 0.5 (0.35 + 0.65 v), computed here in numpy per pixel."""
    gen = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (2, 9, 7, 3), dtype=torch.uint8, generator=gen)
    maps = torch.rand(2, 3, 9, 7, generator=gen)
    maps[0, 0, 0, 0], maps[0, 0, 0, 1] = 0.0, 1.0
    got = overlay_batch(images, maps).numpy()
    v = maps.numpy()[..., None].astype(np.float64)
    colour = apply_colormap(maps.numpy()).astype(np.float64)
    w = 0.5 * (0.35 + 0.65 * v)
    want = np.round(images.numpy()[:, None].astype(np.float64) * (1 - w) + colour * w)
    assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max() <= 1  # float32 vs float64 rounding


def test_outputs_equal_explain_images(tmp_path: Path) -> None:
    paths = make_images(tmp_path / "data", 6)
    summary = _run(tmp_path / "data", tmp_path / "out", batch_size=6)
    assert (summary.done, summary.failed, summary.interrupted) == (6, [], False)
    ref = explain_images(paths, tiny_model(), METHODS, top_k=2, batch_size=6)
    manifest = _manifest(tmp_path / "out")
    assert manifest["complete"] and manifest["kind"] == "dataset-run"
    by_source = {Path(im["source"]).name: im for im in manifest["items"]}
    for res in ref.results:
        entry = by_source[Path(res.item.source).name]
        assert entry["id"] == Path(res.item.source).name  # run ids keep the suffix (runner.items.item_id)
        assert res.image is not None
        assert (entry["width"], entry["height"]) == (res.image.width, res.image.height)
        assert [p["class_index"] for p in entry["predictions"]] == res.class_ids
        assert [p["label"] for p in entry["predictions"]] == res.labels
        np.testing.assert_allclose([p["probability"] for p in entry["predictions"]], res.probabilities, atol=1e-6)
        with np.load(tmp_path / "out" / entry["id"] / "maps.npz") as z:
            for m in METHODS:
                np.testing.assert_allclose(z[m], res.maps[m], atol=1e-5)
        for e in entry["maps"]:
            png = np.asarray(Image.open(tmp_path / "out" / e["overlay"]))
            with np.load(tmp_path / "out" / e["array"]) as z:
                heat = z[e["array_key"]][e["array_index"]]
            np.testing.assert_array_equal(png, np.asarray(overlay(res.image, heat)))
            assert e["label"] == res.labels[e["rank"] - 1]


def _assert_same_maps(a: Path, b: Path) -> None:
    for im in _manifest(a)["items"]:
        with np.load(a / im["id"] / "maps.npz") as za, np.load(b / im["id"] / "maps.npz") as zb:
            for m in METHODS:
                np.testing.assert_allclose(za[m], zb[m], atol=1e-5)


def test_dataloader_workers_give_the_same_maps(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 5)
    _run(tmp_path / "data", tmp_path / "a", workers=0, batch_size=2)
    _run(tmp_path / "data", tmp_path / "b", workers=2, batch_size=3)
    _assert_same_maps(tmp_path / "a", tmp_path / "b")


def test_auto_workers_and_writers_give_the_same_outputs_as_explicit(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 5)
    explicit = _run(tmp_path / "data", tmp_path / "a", workers=0, writers=1)
    auto = _run(tmp_path / "data", tmp_path / "b", workers=None, writers=None)
    assert (auto.done, auto.failed, auto.pending) == (explicit.done, explicit.failed, explicit.pending) == (5, [], 0)
    _assert_same_maps(tmp_path / "a", tmp_path / "b")
    ma, mb = _manifest(tmp_path / "a"), _manifest(tmp_path / "b")
    assert {k: v for k, v in ma.items() if k != "created"} == {k: v for k, v in mb.items() if k != "created"}


def test_corrupt_image_is_recorded_and_the_rest_finish(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 5)
    (tmp_path / "data" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "data" / "empty.png").write_bytes(b"")
    summary = _run(tmp_path / "data", tmp_path / "out", batch_size=3)
    assert summary.done == 5 and summary.pending == 0 and not summary.interrupted
    reasons = {f["id"]: f["reason"] for f in summary.failed}
    assert set(reasons) == {"broken.jpg", "empty.png"}
    assert all("\n" not in r and "InputError" in r for r in reasons.values())
    manifest = _manifest(tmp_path / "out")
    assert manifest["complete"] and manifest["counts"] == {"items": 7, "done": 5, "failed": 2, "pending": 0}
    assert {f["id"] for f in manifest["failed"]} == {"broken.jpg", "empty.png"}
    assert not (tmp_path / "out" / "broken.jpg").exists()


def test_rerun_skips_finished_items_and_keeps_their_files(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 8)
    stop = StopFlag()
    first = _run(tmp_path / "data", tmp_path / "out", batch_size=2, on_progress=lambda n: stop.set(), stop=stop)
    assert first.interrupted and 0 < first.done < 8 and first.pending == 8 - first.done
    manifest = _manifest(tmp_path / "out")
    assert not manifest["complete"] and len(manifest["items"]) == first.done
    _assert_consistent(tmp_path / "out")
    kept = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "out").rglob("*.png")}
    started: list[tuple[int, int]] = []
    second = _run(tmp_path / "data", tmp_path / "out", batch_size=2, on_start=lambda t, s: started.append((t, s)))
    assert started == [(8 - first.done, first.done)]
    assert (second.skipped, second.done, second.pending, second.interrupted) == (first.done, 8 - first.done, 0, False)
    assert all((p.stat().st_ino, p.stat().st_mtime_ns) == v for p, v in kept.items())  # never rewritten
    third = _run(tmp_path / "data", tmp_path / "out")
    assert (third.done, third.skipped) == (0, 8)
    manifest = _manifest(tmp_path / "out")
    assert manifest["complete"] and len(manifest["items"]) == 8
    ids = [json.loads(line)["id"] for line in (tmp_path / "out" / "journal.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(set(ids))  # each item journaled once


def test_item_whose_files_vanished_is_redone(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 3)
    _run(tmp_path / "data", tmp_path / "out")
    victim = _manifest(tmp_path / "out")["items"][1]["id"]
    shutil.rmtree(tmp_path / "out" / victim)
    again = _run(tmp_path / "data", tmp_path / "out")
    assert (again.done, again.skipped) == (1, 2)
    assert (tmp_path / "out" / victim / "maps.npz").is_file()


def test_torn_journal_line_is_ignored_and_appends_continue(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 4)
    _run(tmp_path / "data", tmp_path / "out", limit=2)
    with (tmp_path / "out" / "journal.jsonl").open("a") as fh:
        fh.write('{"id": "img002", "status": "do')  # a write cut short by kill -9
    summary = _run(tmp_path / "data", tmp_path / "out")
    assert (summary.skipped, summary.done) == (2, 2)
    assert _manifest(tmp_path / "out")["counts"]["done"] == 4


def test_output_folder_of_another_job_is_refused(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 2)
    _run(tmp_path / "data", tmp_path / "out")
    with pytest.raises(InputError, match=r"top_k=2.*top_k=1"):
        _run(tmp_path / "data", tmp_path / "out", top_k=1)


def test_outputs_inside_the_dataset_folder_are_not_reexplained(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 2)
    _run(tmp_path / "data", tmp_path / "data" / "out")
    again = _run(tmp_path / "data", tmp_path / "data" / "out")
    assert (again.total, again.skipped) == (2, 2)


def test_bad_options_fail_before_any_work(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 1)
    with pytest.raises(InputError, match="engine"):
        _run(tmp_path / "data", tmp_path / "out", engine="spark")
    from netloupe.errors import LayerNotFound

    with pytest.raises(LayerNotFound):
        _run(tmp_path / "data", tmp_path / "out2", layer="nope")
    assert not (tmp_path / "out2" / "journal.jsonl").exists()
    with pytest.raises(InputError, match="writers: must be >= 1"):
        _run(tmp_path / "data", tmp_path / "out3", writers=0)
    with pytest.raises(InputError, match="workers: must be >= 0"):
        _run(tmp_path / "data", tmp_path / "out3", workers=-1)
    assert not (tmp_path / "out3").exists()


def test_labels_and_classes_are_recorded(tmp_path: Path) -> None:
    make_images(tmp_path / "imgs", 3)
    (tmp_path / "list.csv").write_text("image,label\nimgs/img000.png,ant\nimgs/img001.jpg,bee\nimgs/img002.jpg,cat\n")
    summary = _run(tmp_path / "list.csv", tmp_path / "out")
    assert summary.done == 3
    images = _manifest(tmp_path / "out")["items"]
    assert [im["label"] for im in images] == ["ant", "bee", "cat"]
    assert all(p["label"] in CLASSES for im in images for p in im["predictions"])


def test_cli_records_bad_items_writes_the_rest_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from netloupe.cli import run as run_cli
    from netloupe.cli.main import main

    make_images(tmp_path / "data", 2)
    (tmp_path / "data" / "zbad.png").write_bytes(b"nope")
    monkeypatch.setattr(run_cli, "load_cli_model", lambda *a: tiny_model())
    with pytest.raises(SystemExit) as exc:
        main(["run", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--workers", "0", "--device", "cpu"])
    assert exc.value.code == 2  # the failure policy: record the bad item, write the rest, exit non-zero at the end
    err = capsys.readouterr().err
    assert "decoding: 0 workers, writing: " in err  # writers: auto
    assert "2 explained" in err and "1 failed" in err and "zbad.png" in err
    assert _manifest(tmp_path / "out")["counts"] == {"items": 3, "done": 2, "failed": 1, "pending": 0}
    with pytest.raises(SystemExit) as exc:
        main(["run", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--methods", "gradkam"])
    assert exc.value.code == 2
    assert os.path.isdir(tmp_path / "out")
