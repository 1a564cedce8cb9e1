"""Report figures: readable text, alt text on every image, attributions that are not plain grey."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from netloupe.errors import InputError
from netloupe.viz.attribution import attribution_to_rgb
from netloupe.viz.report import MIN_TEXT_PX, figure_html, figure_to_data_uri, img_html


def test_small_text_is_enlarged_to_the_readable_minimum() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    small = ax.set_title("tiny", fontsize=5)
    big = ax.set_xlabel("big", fontsize=20)
    figure_to_data_uri(fig, dpi=100)
    assert small.get_fontsize() * 100 / 72 == pytest.approx(MIN_TEXT_PX)
    assert big.get_fontsize() == 20  # larger text is left alone


def test_images_carry_alt_text() -> None:
    assert "alt='a cat &amp; its map'" in img_html("data:,", "a cat & its map", "max-width:100%")
    assert "alt='PCA of features'" in figure_html("data:,", "PCA of features")
    with pytest.raises(ValueError, match="alt"):
        img_html("data:,", " ")


def test_heavy_tailed_attribution_is_not_plain_grey() -> None:
    rng = np.random.default_rng(0)
    attr = rng.normal(size=(3, 64, 64)) * 1e-3
    attr.flat[rng.choice(attr.size, 12, replace=False)] *= 1000.0  # gradients: a few huge values, most small
    by_max = 0.5 + 0.5 * attr / np.abs(attr).max()  # the old display
    shown = attribution_to_rgb(torch.from_numpy(attr))
    assert shown.shape == (64, 64, 3) and shown.dtype == np.float32
    assert shown.min() >= 0.0 and shown.max() <= 1.0
    visible_old = float((np.abs(by_max.transpose(1, 2, 0) - 0.5) > 0.05).mean())
    visible_new = float((np.abs(shown - 0.5) > 0.05).mean())
    # |x| > 0.1 * 2.576 sigma (the 99th percentile): P = 0.80 of a normal; by the max: almost nothing
    assert visible_old < 0.01 and visible_new == pytest.approx(0.80, abs=0.02)
    # the value at the 99th percentile of |a| maps to white/black; zero stays mid-grey; the sign is kept
    s = np.percentile(np.abs(attr), 99)
    np.testing.assert_allclose(attribution_to_rgb(np.array([[s, -s, 0.0, s / 2]]), 100.0), [[1.0, 0.0, 0.5, 0.75]])
    assert np.all(attribution_to_rgb(np.zeros((4, 4))) == 0.5)
    with pytest.raises(InputError, match="percentile"):
        attribution_to_rgb(attr, 0.0)


def test_my_demo_sections_have_alt_text_on_every_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from netloupe.demo import run_demo

    sections = [
        "netloupe.demo.section_localization",
        "netloupe.demo.section_sequence",
        "netloupe.demo.section_benchmarks",
    ]
    html = run_demo(tmp_path, fast=True, sections=sections).read_text()
    imgs = re.findall(r"<img\b[^>]*>", html)
    assert len(imgs) >= 3
    missing = [i[:80] for i in imgs if not re.search(r"alt='[^']+'", i)]
    assert missing == []


def _decode(uri: str) -> tuple[str, np.ndarray, int]:
    import base64
    import io

    from PIL import Image

    head, payload = uri.split(",", 1)
    raw = base64.b64decode(payload)
    return head, np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=np.int16), len(raw)


def test_photo_figures_as_jpeg_are_small_and_faithful() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256] / 256.0
    photo = np.stack([yy, xx, 0.5 + 0.2 * np.sin(12 * xx * yy)], -1) + rng.normal(0, 0.04, (256, 256, 3))

    def figure() -> object:
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.imshow(np.clip(photo, 0, 1))
        ax.imshow(np.exp(-((yy - 0.5) ** 2 + (xx - 0.4) ** 2) * 20), cmap="jet", alpha=0.4)
        ax.set_title("tabby 0.61")
        return fig

    png_head, png, png_bytes = _decode(figure_to_data_uri(figure()))
    jpg_head, jpg, jpg_bytes = _decode(figure_to_data_uri(figure(), fmt="jpeg"))
    assert (png_head, jpg_head) == ("data:image/png;base64", "data:image/jpeg;base64")
    assert png.shape == jpg.shape
    assert jpg_bytes < 0.5 * png_bytes
    assert np.abs(png - jpg).mean() < 4.0  # mean error under 4 of 255 grey levels
    with pytest.raises(ValueError, match="fmt"):
        figure_to_data_uri(figure(), fmt="gif")
