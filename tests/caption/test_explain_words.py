"""Per-word Grad-CAM on a toy captioner whose right region per word is known; watermark box; bad images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from netloupe.caption.data import load_image
from netloupe.caption.explain import energy_share, explain_words, locate_watermark
from netloupe.caption.model import Captioner
from netloupe.errors import InputError

RED, GREEN = 4, 5


class ToyEncoder(nn.Module):
    """forward_features: channel 0 = red plane, channel 1 = green plane, through a layer named bn2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0] = 1.0
            self.conv.weight[1, 1] = 1.0
        self.bn2 = nn.Identity()

    def forward_features(self, x: Tensor) -> Tensor:
        return self.bn2(self.conv(x))


class ToyDecoder(nn.Module):
    """Word logits at position t: (t + 1) * (3 f_red -> "red", 3 f_green -> "green"), ignoring the prefix."""

    def forward(self, features: Tensor, tokens: Tensor) -> Tensor:
        logits = torch.zeros(features.shape[0], 6)
        logits[:, RED] = 3 * features[:, 0]
        logits[:, GREEN] = 3 * features[:, 1]
        scale = torch.arange(1, tokens.shape[1] + 1, dtype=features.dtype)[None, :, None]
        return F.log_softmax(logits[:, None] * scale, -1)


def _image() -> Tensor:
    x = torch.zeros(1, 3, 8, 8)
    x[0, 0, :4, :4] = 1.0  # red square top-left
    x[0, 1, 4:, 4:] = 1.0  # green square bottom-right
    return x


def test_each_word_looks_at_its_own_region() -> None:
    captioner = Captioner(ToyEncoder(), ToyDecoder())  # type: ignore[arg-type]
    maps, logp = explain_words(captioner, _image(), [RED, GREEN, RED], bos=2)
    assert maps.shape == (3, 8, 8)
    top_left, bottom_right = (0, 4, 0, 4), (4, 8, 4, 8)
    assert torch.allclose(energy_share(maps[[0, 2]], top_left), torch.ones(2), atol=1e-4)
    assert float(energy_share(maps[1:2], bottom_right)) == pytest.approx(1.0, abs=1e-4)
    # the score is the word's log-probability at its own position (t = 1, 2, 3)
    f = torch.tensor([1 / 4, 1 / 4])
    expected = [F.log_softmax(torch.tensor([0, 0, 0, 0, 3 * f[0], 3 * f[1]]) * t, -1) for t in (1, 2, 3)]
    assert logp.tolist() == pytest.approx([float(expected[0][RED]), float(expected[1][GREEN]),
                                           float(expected[2][RED])], abs=1e-5)
    with pytest.raises(InputError, match="no words"):
        explain_words(captioner, _image(), [], bos=2)


def test_energy_share_hand_computed() -> None:
    m = torch.zeros(1, 4, 4)
    m[0, 0, 0], m[0, 3, 3] = 3.0, 1.0
    assert float(energy_share(m, (0, 2, 0, 2))) == pytest.approx(0.75)


def test_locate_watermark_finds_a_fixed_corner_mark() -> None:
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 60, size=(40, 64, 64)).astype(np.float32)
    yy, xx = np.mgrid[:64, :64]
    imgs += 120 * np.exp(-((yy - 32) ** 2 + (xx - 32) ** 2) / 300)[None]  # "anatomy"
    imgs[:, 3:7, 45:60:2] = 230  # thin bright strokes at a fixed place
    top, bottom, left, right = locate_watermark(imgs, sigma=2.0, threshold=20, margin=1)
    assert top <= 3 and bottom >= 7 and left <= 45 and right >= 59
    assert bottom <= 12 and left >= 38
    with pytest.raises(InputError, match="N >= 2"):
        locate_watermark(imgs[:1])


def test_bad_images_are_rejected_with_clear_messages() -> None:
    with pytest.raises(InputError, match="channels"):
        load_image(np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(InputError, match="smallest side"):
        load_image(np.zeros((10, 64), np.uint8))
    assert load_image(np.zeros((64, 80, 1), np.float32)).mode == "RGB"
    captioner = Captioner(ToyEncoder(), ToyDecoder())  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"\(N, 3, H, W\)"):
        captioner.features(torch.zeros(1, 1, 8, 8))
