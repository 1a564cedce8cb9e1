"""``methods="auto"`` (the CLI's default): Grad-CAM, except attention methods for class-token transformers."""

from __future__ import annotations

import pytest
from tests.runner._job import tiny_model

from netloupe import load_model
from netloupe.cli._options import parse_methods
from netloupe.errors import InputError
from netloupe.models.tiny_transformers import CLASS_NAMES, load_tiny
from netloupe.pipeline import build_request


def test_auto_keeps_gradcam_for_a_cnn() -> None:
    request = build_request(tiny_model(), "auto", top_k=1)
    assert request.methods == ("gradcam",) and "Grad-CAM" in request.method_reason


@pytest.mark.parametrize("arch", ["tiny_vit_reg", "tiny_deit"])
def test_auto_on_a_class_token_transformer(arch: str) -> None:
    loaded = load_model(load_tiny(arch), class_names=CLASS_NAMES)
    assert build_request(loaded, "auto", top_k=1).methods == ("rollout",)
    assert build_request(loaded, "auto", top_k=2).methods == ("gradattention",)  # rollout ignores the class
    assert build_request(loaded, "auto", target=3).methods == ("gradattention",)
    named_layer = build_request(loaded, "auto", top_k=1, layer="blocks.2.norm1")
    assert named_layer.methods == ("gradcam",)  # a named layer is a CAM at that layer
    assert build_request(loaded, "gradcam", top_k=1).method_reason == ""  # named methods are kept as named


def test_auto_on_swin_keeps_gradcam() -> None:
    loaded = load_model(load_tiny("tiny_swin"), class_names=CLASS_NAMES)
    assert build_request(loaded, "auto", top_k=1).methods == ("gradcam",)  # windowed attention: no rollout


def test_auto_stands_alone() -> None:
    with pytest.raises(InputError, match="stands alone"):
        build_request(tiny_model(), "auto,gradcam")
    with pytest.raises(InputError, match="stands alone"):
        parse_methods("gradcam,auto")
    assert parse_methods("auto") == ["auto"]
