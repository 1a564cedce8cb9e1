"""Input-level attribution: which input elements (pixels, tokens, time steps) drive a target score.

Every method takes ``(forward, inputs, targets)`` with the same target objects as the CAM engine and
returns an :class:`Attribution` whose ``values`` have shape ``(N, K, *inputs.shape[1:])``.
"""

from __future__ import annotations

from ._core import Attribution, rnn_backward_safe
from .gradient import gradient_x_input, input_gradients
from .integrated_gradients import integrated_gradients
from .occlusion import occlusion

__all__ = [
    "ATTRIBUTION_METHODS",
    "Attribution",
    "gradient_x_input",
    "input_gradients",
    "integrated_gradients",
    "occlusion",
    "rnn_backward_safe",
]

#: Method name -> function, for CLIs and benchmarks.
ATTRIBUTION_METHODS = {
    "gradient_x_input": gradient_x_input,
    "integrated_gradients": integrated_gradients,
    "occlusion": occlusion,
}
