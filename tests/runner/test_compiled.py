"""torch.compile'd models work in the runner (hooks run inside compiled graphs); TorchScript fails clearly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.runner._job import make_images, tiny_model

from netloupe.errors import MethodNotApplicable
from netloupe.runner import run_dataset

METHODS = ["gradcam", "gradcam++", "layercam"]


def _maps(out: Path) -> dict[str, dict[str, np.ndarray]]:
    manifest = json.loads((out / "manifest.json").read_text())
    result = {}
    for im in manifest["items"]:
        with np.load(out / im["id"] / "maps.npz") as z:
            result[im["id"]] = {k: z[k] for k in z.files}
    return result


@pytest.fixture(scope="module")
def eager_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("eager")
    make_images(base / "data", 4)
    run_dataset(base / "data", tiny_model(), METHODS, base / "out", top_k=2, batch_size=2, workers=0)
    return base / "data", base / "out"


def _compare_compiled(eager_run: tuple[Path, Path], tmp_path: Path, **compile_kw: object) -> None:
    data, reference = eager_run
    loaded = tiny_model()
    compiled = dataclasses.replace(loaded, model=torch.compile(loaded.model, **compile_kw))  # type: ignore[arg-type]
    summary = run_dataset(data, compiled, METHODS, tmp_path / "out", top_k=2, batch_size=2, workers=0)
    assert summary.done == 4 and not summary.failed
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["layers"] == ["5"]  # the original model's name, not "_orig_mod.5"
    got, want = _maps(tmp_path / "out"), _maps(reference)
    for key, maps in want.items():
        for m in METHODS:
            np.testing.assert_allclose(got[key][m], maps[m], atol=1e-5)


@pytest.mark.parametrize("backend", [pytest.param("eager", marks=pytest.mark.slow), "aot_eager"])
def test_compiled_model_gives_the_eager_maps(eager_run: tuple[Path, Path], tmp_path: Path, backend: str) -> None:
    # Dynamo traces the model and runs the capture hooks; "aot_eager" also traces the backward graph.
    _compare_compiled(eager_run, tmp_path, backend=backend)


@pytest.mark.slow
def test_inductor_compiled_model_gives_the_eager_maps(eager_run: tuple[Path, Path], tmp_path: Path) -> None:
    # The default backend generates and builds C++ kernels: about a minute on a 2-core CPU.
    _compare_compiled(eager_run, tmp_path)


def test_torchscript_model_fails_before_any_work(tmp_path: Path) -> None:
    make_images(tmp_path / "data", 2)
    loaded = tiny_model()
    scripted = dataclasses.replace(loaded, model=torch.jit.script(loaded.model))
    with pytest.raises(MethodNotApplicable, match=r"TorchScript.*arch"):
        run_dataset(tmp_path / "data", scripted, ["gradcam"], tmp_path / "out", workers=0)
    assert not (tmp_path / "out" / "journal.jsonl").exists()
