"""`netloupe explain --arch <timm ViT> --checkpoint`: the automatic layer is the ViT's norm1, read as tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch

from netloupe.cli.main import main
from netloupe.demo.images import demo_photo


def _vit_argv(tmp_path: Path) -> list[str]:
    """A random-weight timm ViT saved as a state dict and a photo: ``netloupe explain`` arguments for them."""
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3)
    torch.save(model.state_dict(), tmp_path / "vit.pt")
    photo = tmp_path / "cat.jpg"
    demo_photo("chelsea.png").save(photo)
    return ["explain", str(photo), "--arch", "vit_tiny_patch16_224", "--checkpoint", str(tmp_path / "vit.pt")]


def test_cli_explains_a_timm_vit_from_arch_and_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _vit_argv(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--method", "gradcam", "--top-k", "1", "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert int(exc.value.code or 0) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["layers"] == ["blocks.11.norm1"]


def test_cli_default_method_follows_the_automatic_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # No --method: a class-token ViT is explained by attention rollout for one class and by gradient-weighted
    # attention for several (rollout does not depend on the class); the manifest and the console say why.
    argv = _vit_argv(tmp_path)
    for k, method in (("1", "rollout"), ("3", "gradattention")):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--top-k", k, "--out", str(tmp_path / k), "--device", "cpu"])
        assert int(exc.value.code or 0) == 0
        assert f"method: {method} (" in capsys.readouterr().err
        manifest = json.loads((tmp_path / k / "manifest.json").read_text())
        assert manifest["methods"] == [method] and "class token" in manifest["method_reason"]
        assert len(manifest["items"][0]["maps"]) == (int(k) if method == "gradattention" else 1)  # rollout: one map
