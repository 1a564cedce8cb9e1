"""``netloupe run --store``: one chunked Zarr store that xarray opens, resumable, rendered later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from tests.runner._job import make_images, tiny_model

from netloupe.cam.engine import maps_at_size
from netloupe.cli.main import main
from netloupe.pipeline import ExplainCore, Reader, build_request, decode
from netloupe.pipeline.render import render_store
from netloupe.runner import StopFlag, discover_items, run_dataset
from netloupe.viz.overlay import overlay

xr = pytest.importorskip("xarray", reason="reading the store back needs xarray (the dev extra has it)")
METHODS = ["gradcam", "layercam"]


def _reference(data: Path) -> dict[str, dict[str, np.ndarray]]:
    """Maps at the model's input grid straight from the core, per item id."""
    loaded = tiny_model()
    request = build_request(loaded, METHODS, top_k=2, grid="input", overlays=False)
    reader = Reader(loaded.preprocess)
    items = [decode(reader, it.source, it.id) for it in discover_items(data)]
    return {r.id: r.maps for r in ExplainCore(request).explain(items)}  # type: ignore[arg-type]


def test_store_opens_with_xarray_and_holds_the_core_maps(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_images(data, 7)
    summary = run_dataset(
        data, tiny_model(), METHODS, tmp_path / "run", top_k=2, batch_size=3, workers=0, store=tmp_path / "maps.zarr"
    )
    assert (summary.done, summary.failed) == (7, [])
    ds = xr.open_zarr(tmp_path / "maps.zarr")
    assert ds["maps"].dims == ("item", "method", "rank", "y", "x")
    assert ds["maps"].shape == (7, 2, 2, 32, 32) and ds["maps"].dtype == np.float16
    assert list(ds["method"].values) == METHODS and list(ds["rank"].values) == [1, 2]
    assert bool(ds["done"].all())
    ref = _reference(data)
    assert sorted(ds["item"].values.tolist()) == sorted(ref)
    for ident in ref:
        row = ds.sel(item=ident)
        for j, m in enumerate(METHODS):
            np.testing.assert_allclose(row["maps"].values[j].astype(np.float32), ref[ident][m], atol=1e-3)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["store"] == str(tmp_path / "maps.zarr")
    assert all("store" in e for it in manifest["items"] for e in it["maps"])
    assert not list((tmp_path / "run").glob("*/*.png"))  # overlays are off by default with a store


def test_store_run_resumes_after_a_stop_with_equal_maps(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_images(data, 8)
    stop = StopFlag()
    first = run_dataset(
        data, tiny_model(), METHODS, tmp_path / "a", top_k=2, batch_size=2, workers=0,
        store=tmp_path / "a.zarr", on_progress=lambda _n: stop.set(), stop=stop,
    )  # fmt: skip
    assert first.interrupted and 0 < first.done < 8
    second = run_dataset(
        data, tiny_model(), METHODS, tmp_path / "a", top_k=2, batch_size=2, workers=0, store=tmp_path / "a.zarr"
    )
    assert second.skipped == first.done and second.done == 8 - first.done
    run_dataset(
        data, tiny_model(), METHODS, tmp_path / "b", top_k=2, batch_size=8, workers=0, store=tmp_path / "b.zarr"
    )
    a, b = xr.open_zarr(tmp_path / "a.zarr"), xr.open_zarr(tmp_path / "b.zarr")
    np.testing.assert_array_equal(a["maps"].values, b["maps"].values)
    np.testing.assert_array_equal(a["class_index"].values, b["class_index"].values)


def test_render_draws_the_stored_maps_at_each_inputs_size(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_images(data, 3)
    run_dataset(data, tiny_model(), ["gradcam"], tmp_path / "run", top_k=1, workers=0, store=tmp_path / "s.zarr")
    written = render_store(tmp_path / "s.zarr", tmp_path / "pics")
    assert len(written) == 3
    ds = xr.open_zarr(tmp_path / "s.zarr")
    for path in written:
        ident = path.parent.name
        row = ds.sel(item=ident)
        image = Image.open(str(row["source"].values))
        heat = maps_at_size(
            torch.from_numpy(row["maps"].values[0, :1].astype(np.float32))[None], (image.height, image.width)
        )
        want = np.asarray(overlay(image.convert("RGB"), heat[0, 0].numpy()))
        got = np.asarray(Image.open(path))
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_render_cli_refuses_a_folder_that_is_not_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["render", str(tmp_path), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().startswith("error: store:")


def test_a_chunk_write_that_dies_half_way_leaves_the_done_rows_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch rewrites whole chunks holding rows of earlier batches (read-modify-write), so a write torn by a
    # crash would destroy finished rows. zarr >= 3.1.3 writes each chunk under a temporary name and renames it
    # into place; before that, LocalStore wrote chunks in place (zarr-python PR 3412).
    data = tmp_path / "data"
    make_images(data, 10)  # 5 batches: a stop lands after at most 3 (two batches in flight)
    stop = StopFlag()
    first = run_dataset(
        data, tiny_model(), METHODS, tmp_path / "run", top_k=2, batch_size=2, workers=0,
        store=tmp_path / "s.zarr", on_progress=lambda _n: stop.set(), stop=stop,
    )  # fmt: skip
    assert first.interrupted and 0 < first.done < 10
    before = xr.open_zarr(tmp_path / "s.zarr").load()
    assert int(before["done"].sum()) == first.done

    real_open = Path.open

    class _DiesHalfWay:
        def __init__(self, handle: Any) -> None:
            self._handle = handle

        def __enter__(self) -> _DiesHalfWay:
            return self

        def __exit__(self, *exc: object) -> None:
            self._handle.close()

        def write(self, payload: Any) -> int:
            view = memoryview(payload).cast("B")
            self._handle.write(view[: len(view) // 2])
            raise OSError("simulated crash in the middle of a chunk write")

    def dying_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, mode, *args, **kwargs)
        in_maps = "s.zarr" in self.parts and "maps" in self.parts and "c" in self.parts
        return _DiesHalfWay(handle) if in_maps and "w" in mode else handle

    monkeypatch.setattr(Path, "open", dying_open)
    with pytest.raises(OSError, match="simulated crash"):
        run_dataset(
            data, tiny_model(), METHODS, tmp_path / "run", top_k=2, batch_size=2, workers=0, store=tmp_path / "s.zarr"
        )
    monkeypatch.undo()

    after = xr.open_zarr(tmp_path / "s.zarr").load()
    done = before["done"].values
    np.testing.assert_array_equal(after["maps"].values[done], before["maps"].values[done])
    assert not list((tmp_path / "s.zarr").rglob("*.partial"))
    resumed = run_dataset(
        data, tiny_model(), METHODS, tmp_path / "run", top_k=2, batch_size=2, workers=0, store=tmp_path / "s.zarr"
    )
    assert resumed.done + resumed.skipped == 10
