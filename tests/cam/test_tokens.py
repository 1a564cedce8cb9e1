"""ViT-like token outputs explained through the token-grid reshape."""

from __future__ import annotations

import torch
from torch import nn

import netloupe
from netloupe.layers import token_grid_reshape


class TinyTokenNet(nn.Module):
    """Patchify 8x8 -> 2x2 patches of 4x4, prepend a class token, one linear block, mean-pool, head."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(1, 3, 4, stride=4)
        self.cls = nn.Parameter(torch.zeros(1, 1, 3))
        self.block = nn.Linear(3, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        return self.head(self.block(tokens)[:, 1:].mean(1))


def test_token_grid_reshape_orders_patches_row_major() -> None:
    tokens = torch.arange(1 + 4, dtype=torch.float32).reshape(1, 5, 1).expand(1, 5, 2)
    grid = token_grid_reshape(tokens)
    torch.testing.assert_close(grid[0, 0], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


def test_gradcam_on_tokens_equals_hand_computation() -> None:
    torch.manual_seed(0)
    model = TinyTokenNet().eval()
    x = torch.randn(1, 1, 8, 8)
    res = netloupe.explain(
        model, x, "gradcam", 1, layer="block", reshape=token_grid_reshape, upsample=False, relu=False, normalize=False
    )
    # d y1 / d token_p = W_head[1] / 4 for each of the 4 patch tokens, so w = W_head[1] / 4.
    with torch.no_grad():
        tokens = model.patch(x).flatten(2).transpose(1, 2)
        acts = model.block(tokens)  # (1, 4, 3)
        expected = (acts @ (model.head.weight[1] / 4)).reshape(2, 2)
    torch.testing.assert_close(res.maps["gradcam"][0, 0], expected)
