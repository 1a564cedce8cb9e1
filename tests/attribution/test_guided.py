"""Guided backpropagation on a hand-checkable network."""

from __future__ import annotations

import torch
from torch import nn

from netloupe.attribution import guided_backprop


def test_guided_backprop_drops_negative_gradients_at_relus() -> None:
    # y = w2 . relu(W1 x); plain gradient = W1^T (w2 * 1[W1 x > 0]); guided also zeroes where w2 < 0.
    lin1 = nn.Linear(3, 4, bias=False)
    lin2 = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        lin1.weight.copy_(torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 1.0]]))
        lin2.weight.copy_(torch.tensor([[2.0, -3.0, 1.0, -1.0]]))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1, self.act, self.l2 = lin1, nn.ReLU(inplace=True), lin2

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.l2(self.act(self.l1(x.flatten(1))))

    x = torch.tensor([1.0, 2.0, -1.0]).reshape(1, 1, 3)
    grads, _ = guided_backprop(Net(), x, lambda out: out[:, 0])
    # hidden = (1, 2, -1, 2): active units 0, 1, 3; guided keeps unit 0 (w2 = 2 > 0) only -> d/dx = (2, 0, 0)
    torch.testing.assert_close(grads[0, 0, 0], torch.tensor([2.0, 0.0, 0.0]))
