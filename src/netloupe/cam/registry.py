"""One registry of method names. It feeds the library, the CLI choices, the web app and the tests."""

from __future__ import annotations

from typing import Any

from ..errors import UnknownMethod, did_you_mean
from .activation import CAM, EigenCAM
from .attention import AttentionRollout, GradientWeightedAttention
from .base import CAMMethod
from .gradient import Counterfactual, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from .perturbation import AblationCAM, ScoreCAM
from .smooth import SmoothGradCAMPlusPlus

__all__ = ["METHODS", "available_methods", "get_method", "register_method"]

METHODS: dict[str, type[CAMMethod]] = {}


def register_method(cls: type[CAMMethod]) -> type[CAMMethod]:
    """Add a method class under its lower-case ``name`` (usable as a decorator)."""
    key = cls.name
    if key != key.lower() or key in METHODS:
        raise ValueError(f"method name {key!r} must be lower-case and unique")
    METHODS[key] = cls
    return cls


for _cls in (
    CAM,
    GradCAM,
    GradCAMPlusPlus,
    XGradCAM,
    LayerCAM,
    HiResCAM,
    SmoothGradCAMPlusPlus,
    ScoreCAM,
    AblationCAM,
    EigenCAM,
    Counterfactual,
    AttentionRollout,
    GradientWeightedAttention,
):
    register_method(_cls)

_ALIASES = {
    "grad-cam": "gradcam",
    "gradcampp": "gradcam++",
    "grad-cam++": "gradcam++",
    "score-cam": "scorecam",
    "layer-cam": "layercam",
    "xgrad-cam": "xgradcam",
    "hires-cam": "hirescam",
    "eigen-cam": "eigencam",
    "ablation-cam": "ablationcam",
    "smoothgradcampp": "smoothgradcam++",
    "attention-rollout": "rollout",
    "chefer": "gradattention",
}


def available_methods(family: str = "cam") -> list[str]:
    """Registered method names, in registry order.

    ``family``: ``"cam"`` (methods for any layer with spatial output, the default), ``"attention"``
    (transformer-native: attention rollout, gradient-weighted attention) or ``"all"``.
    """
    return [k for k, cls in METHODS.items() if family == "all" or getattr(cls, "family", "cam") == family]


def get_method(method: str | CAMMethod, **kwargs: Any) -> CAMMethod:
    """A method instance from its name (case-insensitive; common spellings accepted) or as given."""
    if isinstance(method, CAMMethod):
        return method
    if not isinstance(method, str):
        raise TypeError(f"method: expected a name or a CAMMethod, got {type(method).__name__}")
    key = method.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise UnknownMethod(f"unknown method {method!r}{did_you_mean(key, METHODS)}; available: {', '.join(METHODS)}")
    return METHODS[key](**kwargs)
