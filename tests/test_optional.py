"""Optional packages: one helper, one clean line naming the extra that installs them."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from netloupe._optional import MissingDependency, install_hint, require
from netloupe.errors import NetloupeError


def test_require_imports_or_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    assert require("json", "anything").dumps([1]) == "[1]"
    monkeypatch.setitem(sys.modules, "openTSNE", None)  # as if not installed
    with pytest.raises(MissingDependency) as exc:
        require("openTSNE", "t-SNE")
    assert str(exc.value) == "t-SNE needs openTSNE: pip install 'netloupe[internals]'"
    assert isinstance(exc.value, NetloupeError) and isinstance(exc.value, ImportError)
    assert install_hint("sklearn.datasets") == "pip install 'netloupe[internals]'"
    assert install_hint("umap") == "pip install 'netloupe[umap]'"


def test_tsne_pca_and_digits_give_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from netloupe.internals.embed import PCA, TSNE
    from netloupe.sequence.data import digits_rows

    x = np.random.default_rng(0).normal(size=(40, 5))
    for name in ("openTSNE", "sklearn", "sklearn.decomposition", "sklearn.datasets"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependency, match=r"^t-SNE needs openTSNE: pip install 'netloupe\[internals\]'$"):
        TSNE(perplexity=5).fit(x)
    with pytest.raises(MissingDependency, match=r"^PCA needs scikit-learn: pip install 'netloupe\[internals\]'$"):
        PCA().fit(x)
    with pytest.raises(MissingDependency, match=r"^the digits data set needs scikit-learn"):
        digits_rows()


def test_cli_prints_one_error_line_for_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from netloupe.cli import internals
    from netloupe.cli.main import main
    from netloupe.internals.features import FeatureSet

    rng = np.random.default_rng(0)
    folder = tmp_path / "data"
    from PIL import Image

    for k in ("a", "b"):
        (folder / k).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(folder / k / f"{i}.png")
    fs = FeatureSet(
        features=rng.normal(size=(6, 4)).astype(np.float32),
        labels=np.array([0, 0, 0, 1, 1, 1]),
        names=[f"{k}/{i}.png" for k in "ab" for i in range(3)],
        class_names=["a", "b"],
        model="m",
        layer="l",
    )
    fs.save(tmp_path / "f.npz")
    monkeypatch.setitem(sys.modules, "openTSNE", None)
    monkeypatch.setattr(internals, "_load", lambda *a: pytest.fail("features are reused, no model is loaded"))
    with pytest.raises(SystemExit) as exc:
        main(["embed", str(folder), "--features", str(tmp_path / "f.npz"), "--out", str(tmp_path / "e")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: t-SNE needs openTSNE: pip install 'netloupe[internals]'"
    assert not (tmp_path / "e" / "tsne_coords.csv").exists()
