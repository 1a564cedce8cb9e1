"""The README's library example runs as written, and preprocessing takes paths as well as images."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from netloupe.demo.images import demo_photo
from netloupe.errors import InputError
from netloupe.models import ImagePreprocess

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "examples" / "quickstart.py"


@pytest.fixture
def cat_jpg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cat.jpg"
    demo_photo("chelsea.png").save(path, quality=90)
    monkeypatch.chdir(tmp_path)
    return path


def test_preprocess_accepts_a_path_a_pil_image_and_an_array(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(arr).save(path)
    pre = ImagePreprocess(size=(8, 8))
    from_path = pre.batch([path, str(path)])
    from_image = pre.batch([Image.fromarray(arr)])
    from_array = pre.batch([arr])
    assert from_path.shape == (2, 3, 8, 8)
    torch.testing.assert_close(from_path[0], from_image[0])
    torch.testing.assert_close(from_path[1], from_array[0])
    torch.testing.assert_close(pre(path), from_image[0])


def test_preprocess_path_errors_are_clear(tmp_path: Path) -> None:
    pre = ImagePreprocess(size=(8, 8))
    with pytest.raises(FileNotFoundError):
        pre.batch([tmp_path / "missing.png"])
    with pytest.raises(InputError, match="wrap it in a list"):
        pre.batch(str(tmp_path / "x.png"))  # type: ignore[arg-type]


def test_quickstart_example_runs_as_written(cat_jpg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(QUICKSTART), run_name="__main__")
    out = capsys.readouterr().out
    assert "torch.Size([1, 3, 224, 224])" in out
    assert "Egyptian cat" in out.splitlines()[1]


def _readme_python_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return next(b for b in blocks if "import netloupe" in b)


def test_readme_python_example_runs_as_written(cat_jpg: Path) -> None:
    """The first README Python block that imports netloupe runs in a folder holding one photo, cat.jpg."""
    code = _readme_python_block()
    exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
