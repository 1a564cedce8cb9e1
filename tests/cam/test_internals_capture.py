"""The internals' layer capture: a copy of the output (in-place ops after the layer) and the @call index."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from netloupe.internals._hooks import capture, run_and_capture


class TwoCalls(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        a = self.shared(x * 1)  # call 0 (a new tensor: the caller's x stays as it is)
        b = self.shared(x * 2)  # call 1
        return self.act(a) + self.act(b)  # in place on both outputs


def test_in_place_ops_after_the_layer_do_not_reach_the_capture() -> None:
    x = torch.randn(2, 3)
    torch.testing.assert_close(run_and_capture(TwoCalls(), "shared", x), x * 2)  # the last call, not ReLU-ed


def test_call_index_picks_one_call_of_each_forward() -> None:
    model, x = TwoCalls(), torch.randn(2, 3)
    torch.testing.assert_close(run_and_capture(model, "shared@0", x), x)
    torch.testing.assert_close(run_and_capture(model, "shared@1", x), x * 2)
    torch.testing.assert_close(run_and_capture(model, "shared@-1", x), x * 2)
    with capture(model, "shared@0") as store, torch.no_grad():
        for scale in (1.0, 3.0):  # counted per forward pass of the model
            model(x * scale)
            torch.testing.assert_close(store["out"], x * scale)
    assert not model._forward_pre_hooks and not model.shared._forward_hooks
