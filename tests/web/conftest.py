"""Fixtures for the web app tests: a tiny CNN served by the app, a TestClient, real photo bytes."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from tests._tiny import small_cnn

from netloupe.demo.images import demo_photo
from netloupe.models.preprocess import ImagePreprocess
from netloupe.models.zoo import LoadedModel
from netloupe.web import Settings, create_app

TINY_CLASSES = ["ant", "bee", "cat", "dog", "eel"]


def tiny_model() -> LoadedModel:
    """A small random CNN (GAP + linear head) on 32x32 inputs; deterministic weights."""
    gen = torch.Generator().manual_seed(1)
    model = small_cnn(classes=len(TINY_CLASSES), inplace=False)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return LoadedModel("tiny", model.eval(), ImagePreprocess(size=(32, 32)), list(TINY_CLASSES))


def tiny_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {"models": (), "extra_models": {"tiny": tiny_model}, "text_models": {}}
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def make_client() -> Callable[..., TestClient]:
    def make(**overrides: object) -> TestClient:
        return TestClient(create_app(tiny_settings(**overrides)), raise_server_exceptions=False)

    return make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture(scope="session")
def cat() -> Image.Image:
    """A real photo (scikit-image's Chelsea, 451x300), shrunk to keep the tests fast."""
    return demo_photo("chelsea.png").resize((120, 80))


_BROWSER_SKIP = "browser tests need"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    """Say loudly, at the end of the run, that the browser tests did not run (chromium/playwright missing)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if _BROWSER_SKIP in str(r.longrepr)]
    if skipped:
        terminalreporter.write_sep(
            "!",
            f"{len(skipped)} BROWSER TESTS SKIPPED: chromium or playwright is missing "
            "(`make test` installs chromium with apt-get when run as root; else: sudo apt-get install chromium)",
            red=True,
            bold=True,
        )
