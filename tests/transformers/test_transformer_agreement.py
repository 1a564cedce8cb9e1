"""Agreement with pytorch-grad-cam given its documented reshape_transform, same layer, ViT and Swin.

netloupe runs with its automatic layer and layout; pytorch-grad-cam gets that layer and the reshape
its docs prescribe (tokens minus the prefix tokens laid on the grid; Swin's channels-last output
moved to channels-first). Maps must correlate >= 0.99 per sample.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import netloupe
from netloupe.models.tiny_transformers import load_tiny, shapes_batch


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel())[0, 1])


def _vit_reshape(prefix: int, side: int):  # type: ignore[no-untyped-def]
    def reshape_transform(tensor: torch.Tensor) -> torch.Tensor:  # pytorch-grad-cam's ViT recipe
        result = tensor[:, prefix:, :].reshape(tensor.size(0), side, side, tensor.size(2))
        return result.transpose(2, 3).transpose(1, 2)

    return reshape_transform


def _swin_reshape(tensor: torch.Tensor) -> torch.Tensor:  # timm >= 0.9 Swin blocks are (B, H, W, C)
    return tensor.permute(0, 3, 1, 2)


CASES = [
    ("tiny_vit_reg", "blocks.3.norm1", _vit_reshape(5, 8)),
    ("tiny_deit", "blocks.3.norm1", _vit_reshape(2, 8)),
    ("tiny_swin", "layers.1.blocks.1.norm1", _swin_reshape),
]


@pytest.mark.parametrize(("arch", "layer", "reshape"), CASES, ids=[c[0] for c in CASES])
def test_gradcam_agrees_with_pytorch_grad_cam(arch: str, layer: str, reshape) -> None:  # type: ignore[no-untyped-def]
    pgc = pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model = load_tiny(arch)
    x, labels, _ = shapes_batch(6, seed=3_000_000)
    classes = labels.tolist()
    ours = netloupe.explain(model, x, "gradcam", classes)
    assert ours.layers == [layer]  # the automatic choice is the layer the peers' docs recommend
    module: nn.Module = model.get_submodule(layer)
    cam = pgc.GradCAM(model=model, target_layers=[module], reshape_transform=reshape)
    theirs = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])
    corrs = []
    for i in range(len(classes)):
        mine = ours.maps["gradcam"][i, 0].numpy()
        if np.ptp(mine) == 0 and np.ptp(theirs[i]) == 0:
            continue  # no positive evidence at this layer: both maps constant, they agree
        corrs.append(_corr(mine, theirs[i]) if np.ptp(mine) > 0 and np.ptp(theirs[i]) > 0 else 0.0)
    assert len(corrs) >= 4 and min(corrs) >= 0.99, corrs
