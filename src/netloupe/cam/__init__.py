"""The CAM engine: class activation maps sharing one forward/backward pass."""

from ._capture import call_model, split_call, unwrap_compiled
from ._outputs import select_output
from ._passes import Passes
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
    "Passes",
    "ScoreCAM",
    "SmoothGradCAMPlusPlus",
    "WeightedCAM",
    "XGradCAM",
    "available_methods",
    "call_model",
    "explain",
    "get_method",
    "normalize_maps",
    "register_method",
    "select_output",
    "split_call",
    "unwrap_compiled",
    "upsample",
]
