"""The Ray engine on a local Ray instance gives the local engine's outputs (skipped without Ray)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.runner._job import make_images
from tests.runner.test_runner import _assert_consistent, _manifest, _run

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray extra (pip install 'netloupe[ray]')")
pytest.importorskip("ray.data")


@pytest.fixture(scope="module")
def local_ray():  # type: ignore[no-untyped-def]
    src = str(Path(__file__).resolve().parents[2] / "src")
    pythonpath = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(
        address="local",  # a private instance, never a cluster another job started on this machine
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
    )
    yield
    ray.shutdown()


def test_ray_engine_equals_local_engine(local_ray: None, tmp_path: Path) -> None:
    make_images(tmp_path / "data", 7)
    (tmp_path / "data" / "broken.png").write_bytes(b"not a png")
    local = _run(tmp_path / "data", tmp_path / "local", batch_size=3)
    # Start on the local engine (sorted: broken.png and 3 images), finish on Ray: one journal, one layout.
    first = _run(tmp_path / "data", tmp_path / "ray", batch_size=3, limit=4)
    assert first.done == 3
    # workers/writers None: auto, one actor on this 2-CPU instance (default_ray_actors(0, 2) == 1)
    summary = _run(tmp_path / "data", tmp_path / "ray", batch_size=2, engine="ray", workers=None, writers=None)
    assert (summary.skipped, summary.done, summary.pending) == (3, 4, 0)
    assert [f["id"] for f in summary.failed] == [f["id"] for f in local.failed] == ["broken.png"]
    a, b = _manifest(tmp_path / "local"), _manifest(tmp_path / "ray")
    assert a["counts"] == b["counts"] and b["complete"] and b["layers"] == a["layers"]
    strip = ("created", "dataset")
    assert {k: v for k, v in a.items() if k not in strip and k != "items"} == {
        k: v for k, v in b.items() if k not in strip and k != "items"
    }
    images_a = {im["id"]: im for im in a["items"]}
    for im in b["items"]:
        ref = images_a[im["id"]]
        assert [m["overlay"] for m in im["maps"]] == [m["overlay"] for m in ref["maps"]]
        assert [p["class_index"] for p in im["predictions"]] == [p["class_index"] for p in ref["predictions"]]
        with (
            np.load(tmp_path / "ray" / im["id"] / "maps.npz") as zr,
            np.load(tmp_path / "local" / im["id"] / "maps.npz") as zl,
        ):
            for key in zl.files:
                np.testing.assert_allclose(zr[key], zl[key], atol=1e-5)
        for m in im["maps"]:
            pr = np.asarray(Image.open(tmp_path / "ray" / m["overlay"])).astype(int)
            pl = np.asarray(Image.open(tmp_path / "local" / m["overlay"])).astype(int)
            assert np.abs(pr - pl).max() <= 3  # maps equal to 1e-5 may round to a neighbouring colour
    _assert_consistent(tmp_path / "ray")
    ids = [json.loads(x)["id"] for x in (tmp_path / "ray" / "journal.jsonl").read_text().splitlines()]
    assert sorted(ids).count("broken.png") == 2 and len(set(ids)) == 8  # the bad item is retried, and fails again
