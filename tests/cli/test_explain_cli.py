"""`netloupe explain`: outputs and the manifest, and one clear line + exit 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tests._tiny import FixedSizeNet, NoGapNet

from netloupe.cli.main import main
from netloupe.demo.images import demo_photo


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    return int(exc.value.code or 0), err


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("img") / "cat.jpg"
    demo_photo("chelsea.png").save(path)
    return path


def test_explain_writes_overlays_arrays_figures_and_manifest(photo: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, err = run(
        ["explain", str(photo), "--method", "gradcam,cam", "--top-k", "2", "--out", str(tmp_path), "--device", "cpu"],
        capsys,
    )
    assert code == 0, err
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["methods"] == ["gradcam", "cam"] and manifest["layers"] == ["bn2"]
    info = manifest["layer_info"][0]  # which layer and layout were used, and why
    assert (info["name"], info["layout"], info["grid"]) == ("bn2", "channels-first", [7, 7]) and info["reason"]
    image = manifest["items"][0]
    assert image["predictions"][0]["label"] == "Egyptian cat"
    assert 0.5 < image["predictions"][0]["probability"] <= 1
    assert len(image["maps"]) == 4
    for entry in image["maps"]:
        assert (tmp_path / entry["overlay"]).is_file()
    arrays = np.load(tmp_path / "cat" / "maps.npz")
    assert arrays["gradcam"].shape == (2, 300, 451)  # the image's own resolution (H, W)
    assert arrays["gradcam"].min() >= 0 and arrays["gradcam"].max() <= 1
    assert (tmp_path / "cat" / "topk_gradcam.png").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".netloupe-partial")]


def test_target_by_name(photo: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, err = run(["explain", str(photo), "--target", "tabby", "--out", str(tmp_path), "--device", "cpu"], capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [p["label"] for p in manifest["items"][0]["predictions"]] == ["tabby"]
    assert manifest["top_k"] == 1 and manifest["target"] == "tabby"


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (d / "notes.txt").write_text("not an image")
    np.save(d / "two_channels.npy", np.zeros((8, 8, 2), dtype=np.uint8))
    torch.save(NoGapNet().eval(), d / "nogap.pt")  # a full pickle: needs --trust-pickle
    torch.save(FixedSizeNet().eval(), d / "fixed.pt")
    Image.new("RGB", (8, 8)).save(d / "small.png")
    return {p.stem: p for p in d.iterdir()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "missing.png"], "No such file: missing.png"),
        (["explain", "{corrupt}"], "corrupt or truncated"),
        (["explain", "{notes}"], "not an image format"),
        (["explain", "{two_channels}"], "expected (H, W)"),
        (["explain", "{small}", "--method", "gradcan"], "unknown method 'gradcan'; closest: 'gradcam'"),
        (["explain", "{small}", "--layer", "bn3"], "unknown layer 'bn3'; closest: 'bn2'"),
        (["explain", "{small}", "--target", "tabbby"], "unknown class name 'tabbby'"),
        (
            ["explain", "{small}", "--model", "{nogap}", "--method", "cam", "--layer", "features", "--trust-pickle"],
            "use 'gradcam'",
        ),
        (["explain", "{small}", "--model", "{nogap}"], "pass --trust-pickle"),
        (["explain", "{small}", "--model", "{fixed}", "--trust-pickle", "--layer", "conv"], "the model failed on"),
        (["explain", "{small}", "--model", "nosuchmodel"], "neither a zoo model"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(  # type: ignore[no-untyped-def]
    args: list[str], message: str, bad_files: dict[str, Path], tmp_path: Path, capsys
) -> None:
    argv = [a.format(**{k: str(v) for k, v in bad_files.items()}) for a in args]
    out = tmp_path / "out"
    code, err = run([*argv, "--out", str(out), "--device", "cpu"], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("explaining:")]  # progress
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0] and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
