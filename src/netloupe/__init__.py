"""netloupe: a loupe for neural networks.

Class activation maps (CAM, Grad-CAM, Grad-CAM++, Score-CAM, ...), input attribution, evaluation of
explanations, views of what a network learned, medical imaging I/O and sequence models, behind one
library API, the ``netloupe`` command and a small web app.

Example:
    >>> import torch, netloupe
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
    ...                             torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> result = netloupe.explain(model, torch.rand(2, 3, 8, 8), methods=["gradcam", "cam"])
    >>> result.maps["gradcam"].shape
    torch.Size([2, 1, 8, 8])
"""

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

# Public name -> module that defines it. Imported on first use so that `import netloupe` stays cheap.
_LAZY = {
    "Explainer": "netloupe.cam.engine",
    "Explanation": "netloupe.cam.engine",
    "explain": "netloupe.cam.engine",
    "available_methods": "netloupe.cam.registry",
    "get_method": "netloupe.cam.registry",
    "TopK": "netloupe.targets",
    "ClassTarget": "netloupe.targets",
    "SoftmaxTarget": "netloupe.targets",
    "EmbeddingTarget": "netloupe.targets",
    "BoxScoreTarget": "netloupe.targets",
    "SegmentationTarget": "netloupe.targets",
    "TargetOutputs": "netloupe.targets",
    "describe_layer": "netloupe.layers",
    "LayerInfo": "netloupe.layout",
    "load_model": "netloupe.models.zoo",
    "LoadedModel": "netloupe.models.zoo",
    "available_models": "netloupe.models.zoo",
}

__all__ = ["__version__", *sorted(_LAZY)]

if _typing.TYPE_CHECKING:
    from .cam.engine import Explainer, Explanation, explain
    from .cam.registry import available_methods, get_method
    from .layers import describe_layer
    from .layout import LayerInfo
    from .models.zoo import LoadedModel, available_models, load_model
    from .targets import (
        BoxScoreTarget,
        ClassTarget,
        EmbeddingTarget,
        SegmentationTarget,
        SoftmaxTarget,
        TargetOutputs,
        TopK,
    )


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'netloupe' has no attribute {name!r}")


def __dir__() -> list[str]:
    """Only the public API (no typing helpers or import machinery)."""
    return sorted(__all__)
