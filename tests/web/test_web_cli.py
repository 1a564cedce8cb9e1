"""``netloupe serve``: registered, documented, and a bad model name is one error line (exit 2)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from netloupe.cli.main import app, main


def test_serve_is_a_command_with_safe_defaults() -> None:
    out = CliRunner().invoke(app, ["serve", "--help"])
    assert out.exit_code == 0
    assert "127.0.0.1" in out.output and "--model-dir" in out.output and "--models" in out.output


def test_serve_with_an_unknown_model_fails_before_binding(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--models", "efficientnet-lite9", "--port", "1"])
    assert exc.value.code == 2
    assert "closest: 'efficientnet-lite0'" in capsys.readouterr().err.replace("\n", "")


def test_model_dir_lists_torchscript_files_and_explains_errors_clearly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from fastapi.testclient import TestClient
    from tests._tiny import small_cnn

    from netloupe.web import Settings, create_app

    torch.jit.save(torch.jit.script(small_cnn(classes=3).eval()), str(tmp_path / "mine.pt"))
    (tmp_path / "notes.txt").write_text("ignored")
    client = TestClient(create_app(Settings(models=(), model_dir=tmp_path)), raise_server_exceptions=False)
    assert [m["name"] for m in client.get("/api/info").json()["models"]] == ["mine"]
    r = client.post("/api/explain", data={"sample": "rocket", "methods": "gradcam", "model": "mine", "top_k": "2"})
    # The CAM engine cannot hook TorchScript modules: a clear 422, not a crash.
    assert r.status_code == 422 and "TorchScript" in r.json()["error"]
