"""Models: the zoo (default ImageNet model, the project's medical models), loading, preprocessing."""

from .preprocess import ImagePreprocess
from .zoo import (
    DEFAULT_MODEL,
    LoadedModel,
    ZooEntry,
    available_models,
    imagenet_class_names,
    load_model,
    register_model,
)

__all__ = [
    "DEFAULT_MODEL",
    "ImagePreprocess",
    "LoadedModel",
    "ZooEntry",
    "available_models",
    "imagenet_class_names",
    "load_model",
    "register_model",
]
