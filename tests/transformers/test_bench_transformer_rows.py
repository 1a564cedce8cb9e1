"""The benchmark's ViT and Swin rows: the peers get their documented reshape, and agree with netloupe."""

from __future__ import annotations

import pytest
import timm
import torch

from netloupe.bench.peers import PEER_RESHAPES, make_runner
from netloupe.bench.suite import BENCH_MODELS, TIMM_MODELS, agreement
from netloupe.layers import choose_layer


def test_transformer_rows_are_registered() -> None:
    assert set(PEER_RESHAPES) == set(TIMM_MODELS) and set(TIMM_MODELS) <= set(BENCH_MODELS)


@pytest.mark.parametrize("row", ["vit-b16", "swin-t"])
def test_peer_runner_with_reshape_agrees(row: str) -> None:
    pytest.importorskip("pytorch_grad_cam")
    arch = {"vit-b16": "vit_tiny_patch16_224", "swin-t": "swin_tiny_patch4_window7_224"}[row]
    torch.manual_seed(0)
    model = timm.create_model(arch, pretrained=False, num_classes=4).eval()
    x = torch.randn(1, 3, 224, 224)
    layer = choose_layer(model, x).name
    ours = make_runner("netloupe", model, layer, "gradcam")
    theirs = make_runner("pytorch-grad-cam", model, layer, "gradcam", reshape=PEER_RESHAPES[row])
    assert ours is not None and theirs is not None
    assert make_runner("torchcam", model, layer, "gradcam", reshape=PEER_RESHAPES[row]) is None
    assert agreement(ours(x, [1]), theirs(x, [1])) >= 0.99
