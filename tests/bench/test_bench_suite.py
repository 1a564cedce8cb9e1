"""The benchmark suite end to end on a small model: rows, like-for-like maps, the written table and chart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from netloupe.bench import BenchRow, load_rows, run_suite, summary_table, write_results
from netloupe.bench.suite import agreement
from netloupe.cli.main import main

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def resnet18_rows() -> list[BenchRow]:
    pytest.importorskip("pytorch_grad_cam")
    pytest.importorskip("torchcam")
    pytest.importorskip("captum")
    return run_suite(["resnet18"], [2], CPU, repeats=2, log=lambda _s: None, image_size=96)


def test_every_case_has_every_library_that_supports_it(resnet18_rows: list[BenchRow]) -> None:
    have = {(r.case, r.library) for r in resnet18_rows}
    assert ("forward (no grad)", "floor") in have and ("forward (autograd)", "floor") in have
    for lib in ("netloupe", "pytorch-grad-cam", "torchcam", "captum"):
        assert ("gradcam", lib) in have
    assert ("gradcam++", "captum") not in have  # Captum has no Grad-CAM++
    assert ("five gradient methods", "netloupe") in have and ("gradcam top-5 classes", "netloupe") in have
    floor = next(r for r in resnet18_rows if r.case == "forward (no grad)")
    assert floor.ratio_to_forward == 1.0 and floor.ratio_q1 == 1.0 and floor.ratio_q3 == 1.0
    for r in resnet18_rows:
        assert r.repeats == 2 and r.batch == 2 and r.model == "resnet18"
        assert r.ratio_q1 is not None and r.ratio_q3 is not None
        assert r.ratio_q1 <= r.ratio_to_forward <= r.ratio_q3
        assert r.images_per_s == pytest.approx(2 / r.median_s)


def test_the_libraries_computed_the_same_maps(resnet18_rows: list[BenchRow]) -> None:
    """The comparison is like for like: every peer's Grad-CAM / Layer-CAM map agrees with netloupe's."""
    peers = [r for r in resnet18_rows if r.library not in ("floor", "netloupe")]
    assert peers
    for r in peers:
        if r.case in ("gradcam", "layercam"):
            assert r.extra["corr_with_netloupe"] > 0.99, (r.case, r.library, r.extra)


def test_agreement_resizes_low_resolution_maps() -> None:
    fine = torch.linspace(0, 1, 16).reshape(1, 4, 4).repeat_interleave(2, 1).repeat_interleave(2, 2)
    coarse = torch.linspace(0, 1, 16).reshape(1, 4, 4)
    assert agreement(fine, coarse) > 0.95
    assert agreement(fine, -fine) == pytest.approx(-1.0)
    assert agreement(fine, torch.zeros(1, 8, 8)) == 0.0  # a blank map against a varying one disagrees
    assert np.isnan(agreement(torch.zeros(1, 8, 8), torch.ones(1, 4, 4)))  # both blank: nothing to compare
    # Per sample: a peer that leaves maps unnormalised (scaled differently per sample) still agrees.
    pair = torch.stack([fine[0], fine[0].flip(0, 1)])
    assert agreement(pair, pair * torch.tensor([1.0, 30.0])[:, None, None]) == pytest.approx(1.0)
    assert agreement(pair, torch.stack([fine[0], fine[0]])) == pytest.approx(-1.0)  # the worst sample counts


def test_written_results_round_trip_and_summarise(resnet18_rows: list[BenchRow], tmp_path: Path) -> None:
    memory = [
        {"model": "resnet18", "batch": 2, "library": lib, "method": "gradcam", "device": "cpu", "peak_extra_mb": mb}
        for lib, mb in [("floor", 50.0), ("netloupe", 55.0), ("captum", 300.0)]
    ]
    md = write_results(resnet18_rows, memory, tmp_path, CPU, "netloupe bench (test)")
    assert md == tmp_path / "cpu.md"
    assert load_rows(tmp_path / "cpu.json") == resnet18_rows
    assert (tmp_path / "cpu.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((tmp_path / "cpu.json").read_text())["meta"]
    assert meta["command"] == "netloupe bench (test)" and "interleaved" in meta["timing"]
    summary = summary_table(resnet18_rows, memory)
    gradcam = next(line for line in summary if line.startswith("| Grad-CAM, ResNet-18, batch 2 |"))
    # the best cells are bold: those whose printed ratio is the row's lowest (measured rows can tie)
    cells = [c.strip() for c in gradcam.strip("|").split("|")[1:]]
    ratios = [float(c.strip("*").split("x")[0]) for c in cells if "x" in c]
    bold = [float(c.strip("*").split("x")[0]) for c in cells if c.startswith("**")]
    assert bold and set(bold) == {min(ratios)} and len(bold) == ratios.count(min(ratios))
    assert "(no-grad inference: 50 MB)" in summary[-1] and "**55 MB**" in summary[-1] and "300 MB" in summary[-1]


def test_summary_marks_the_lowest_ratio_and_quotes_the_single_method_run() -> None:
    def row(case: str, library: str, ratio: float) -> BenchRow:
        return BenchRow("resnet50", 8, case, library, ratio, 8 / ratio, ratio, 3, {}, ratio, ratio)

    rows = [
        row("gradcam", "netloupe", 1.02),
        row("gradcam", "torchcam", 1.30),
        row("five gradient methods", "netloupe", 1.05),
    ]
    lines = summary_table(rows, [])
    assert lines[2] == "| Grad-CAM, ResNet-50, batch 8 | **1.02x** | – | 1.30x | – |"
    assert lines[3] == (
        "| Five gradient methods at once, ResNet-50, batch 8 | 1.05x (one method: 1.02x) | – | – | – |"
    )


def test_cli_refuses_unknown_models_and_bad_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in [
        (["--models", "resnet5"], "unknown model 'resnet5'; closest: 'resnet50'"),
        (["--models", "resnet18", "--scorecam", "vgg"], "unknown model 'vgg'"),
        (["--models", "resnet18", "--batches", "1,x"], "--batches: expected comma-separated whole numbers"),
        (["--models", "resnet18", "--batches", "0"], "--batches: expected batch sizes >= 1"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(["bench", *argv, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()  # nothing written
