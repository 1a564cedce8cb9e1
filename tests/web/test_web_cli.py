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


def test_model_dir_serves_state_dicts_named_by_architecture(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 item 6: a served model-dir model must be explainable (it used to be TorchScript only: always 422)."""
    import json

    import torch
    import torchvision
    from fastapi.testclient import TestClient

    from netloupe.web import Settings, create_app

    torch.manual_seed(0)
    net = torchvision.models.get_model("mobilenet_v3_small", weights=None, num_classes=3)
    torch.save(net.state_dict(), tmp_path / "mine.pth")
    spec = {"arch": "mobilenet_v3_small", "class_names": ["ant", "bee", "cat"], "input_size": [64, 64]}
    (tmp_path / "mine.json").write_text(json.dumps(spec))
    (tmp_path / "notes.txt").write_text("ignored")
    client = TestClient(create_app(Settings(models=(), model_dir=tmp_path)), raise_server_exceptions=False)
    assert [m["name"] for m in client.get("/api/info").json()["models"]] == ["mine"]
    r = client.post("/api/explain", data={"sample": "rocket", "methods": "gradcam", "model": "mine", "top_k": "2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "mine" and {p["label"] for p in body["predictions"]} <= {"ant", "bee", "cat"}
    served = client.app.state.netloupe.pool.get("mine").loaded
    assert served.class_names == ["ant", "bee", "cat"] and served.preprocess.size == (64, 64)
    mine = served.model.state_dict()
    assert all(torch.equal(v.cpu(), mine[k].cpu()) for k, v in net.state_dict().items())  # the file's weights


def test_model_dir_refuses_torchscript_and_bad_descriptions_at_start_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from tests._tiny import small_cnn

    from netloupe.errors import ModelLoadError
    from netloupe.web import Settings, create_app

    torch.jit.save(torch.jit.script(small_cnn(classes=3).eval()), str(tmp_path / "mine.pt"))
    with pytest.raises(ModelLoadError, match=r"NAME\.json"):
        create_app(Settings(models=(), model_dir=tmp_path))
    (tmp_path / "mine.json").write_text('{"arch": "resnet18", "checkpoint": "../../etc/passwd"}')
    with pytest.raises(ModelLoadError, match="checkpoint must be a file name"):
        create_app(Settings(models=(), model_dir=tmp_path))
    (tmp_path / "mine.json").write_text('{"model": "resnet18"}')
    with pytest.raises(ModelLoadError, match="'arch'"):
        create_app(Settings(models=(), model_dir=tmp_path))
