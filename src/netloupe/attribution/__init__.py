"""Input-level attribution: guided backpropagation, Guided Grad-CAM (and, with the sequence tools,
gradient x input, Integrated Gradients, occlusion)."""

from .guided import GUIDED_ACTIVATIONS, guided_backprop, guided_gradcam

__all__ = ["GUIDED_ACTIVATIONS", "guided_backprop", "guided_gradcam"]
