"""The CAM engine: class activation maps sharing one forward/backward pass."""

from .activation import CAM, EigenCAM
from .base import CAMContext, CAMMethod, WeightedCAM
from .engine import Explainer, Explanation, explain, normalize_maps
from .gradient import Counterfactual, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from .perturbation import AblationCAM, ScoreCAM, upsample
from .registry import METHODS, available_methods, get_method, register_method
from .smooth import SmoothGradCAMPlusPlus

__all__ = [
    "CAM",
    "METHODS",
    "AblationCAM",
    "CAMContext",
    "CAMMethod",
    "Counterfactual",
    "EigenCAM",
    "Explainer",
    "Explanation",
    "GradCAM",
    "GradCAMPlusPlus",
    "HiResCAM",
    "LayerCAM",
    "ScoreCAM",
    "SmoothGradCAMPlusPlus",
    "WeightedCAM",
    "XGradCAM",
    "available_methods",
    "explain",
    "get_method",
    "normalize_maps",
    "register_method",
    "upsample",
]
