"""Input-level attribution: which input elements (pixels, tokens, time steps) drive a target score.

Guided backpropagation and Guided Grad-CAM (:mod:`.guided`), and gradient x input, Integrated Gradients
and occlusion, which take ``(forward, inputs, targets)`` with the same target objects as the CAM engine
and return an :class:`Attribution` whose ``values`` have shape ``(N, K, *inputs.shape[1:])``.
"""

from __future__ import annotations

from collections.abc import Callable

from ._core import Attribution, rnn_backward_safe
from .gradient import gradient_x_input, input_gradients
from .guided import GUIDED_ACTIVATIONS, guided_backprop, guided_gradcam
from .integrated_gradients import integrated_gradients
from .occlusion import occlusion

__all__ = [
    "ATTRIBUTION_METHODS",
    "GUIDED_ACTIVATIONS",
    "Attribution",
    "gradient_x_input",
    "guided_backprop",
    "guided_gradcam",
    "input_gradients",
    "integrated_gradients",
    "occlusion",
    "rnn_backward_safe",
]

#: Input-attribution methods over time (tokens, samples), name -> function, for CLIs and benchmarks.
ATTRIBUTION_METHODS: dict[str, Callable[..., Attribution]] = {
    "gradient_x_input": gradient_x_input,
    "integrated_gradients": integrated_gradients,
    "occlusion": occlusion,
}
