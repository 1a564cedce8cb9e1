"""End-to-end in a real headless Chromium (Debian's ``chromium``, driven by Playwright for Python).

Opens the page served by uvicorn on loopback, uploads a real photo, waits for the heatmap, switches class
and method (checking that the picture changed), moves the opacity slider, submits a bad file and reads the
error. Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def browser_page(app: object) -> Iterator[object]:
    """A Chromium page on ``app`` served on loopback; ``js_errors`` and ``not_found`` (404 URLs) are recorded."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (pip install it)")
    from netloupe.web.loadtest import serve_in_thread

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve_in_thread(app) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 860})
            pg.set_default_timeout(90_000)
            pg.base_url = url  # type: ignore[attr-defined]
            errors: list[str] = []
            missing: list[str] = []
            pg.on("pageerror", lambda exc: errors.append(str(exc)))
            pg.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
            pg.js_errors = errors  # type: ignore[attr-defined]
            pg.not_found = missing  # type: ignore[attr-defined]
            yield pg
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    from tests.web.conftest import tiny_settings

    from netloupe.web import create_app

    with browser_page(create_app(tiny_settings(models=("efficientnet-lite0",), extra_models={}))) as pg:
        yield pg


def _wait_heatmaps(pg, method: str, rank: int) -> None:  # type: ignore[no-untyped-def]
    pg.wait_for_selector('#status[data-state="ready"]')
    pg.wait_for_function(
        """([m, r]) => { const img = document.querySelector(`figure.panel[data-method="${m}"] img.heat`);
                         return img && img.dataset.rank === String(r) && img.complete && img.naturalWidth > 0; }""",
        arg=[method, rank],
    )


def test_upload_switch_class_and_method_then_a_bad_file(page) -> None:  # type: ignore[no-untyped-def]
    import skimage.data

    pg = page
    pg.goto(pg.base_url + "/")
    pg.wait_for_selector("#model option", state="attached")
    photo = Path(skimage.data.__file__).parent / "chelsea.png"
    pg.set_input_files("#file", str(photo))
    _wait_heatmaps(pg, "gradcam", 1)
    preds = pg.locator(".pred")
    assert preds.count() == 3
    assert "Egyptian cat" in preds.nth(0).inner_text()
    panel = pg.locator('figure.panel[data-method="gradcam"] .stack')
    first = panel.screenshot()
    assert pg.locator('figure.panel[data-method="gradcam"] .box').is_visible()

    pg.click('.pred[data-rank="2"]')  # another class: only the heatmap image changes, no new request
    _wait_heatmaps(pg, "gradcam", 2)
    assert pg.get_attribute('.pred[data-rank="2"]', "aria-pressed") == "true"
    second = panel.screenshot()
    assert second != first

    pg.check('#methods input[value="layercam"]')  # side by side: gradcam and layercam
    pg.wait_for_selector('figure.panel[data-method="layercam"]')
    _wait_heatmaps(pg, "layercam", 2)
    pg.uncheck('#methods input[value="gradcam"]')
    pg.wait_for_function("() => !document.querySelector('figure.panel[data-method=\"gradcam\"]')")
    _wait_heatmaps(pg, "layercam", 2)
    third = pg.locator('figure.panel[data-method="layercam"] .stack').screenshot()
    assert third != second

    pg.check('#methods input[value="gradcam"]')
    _wait_heatmaps(pg, "gradcam", 2)
    pg.fill("#opacity", "80")
    pg.dispatch_event("#opacity", "input")
    assert pg.eval_on_selector("img.heat", "img => img.style.opacity") == "0.8"
    href = pg.get_attribute('figure.panel[data-method="gradcam"] a.dl-overlay', "href")
    assert "alpha=0.80" in href and "rank=2" in href
    pg.screenshot(path=str(ARTIFACTS / "explain.png"), full_page=True)

    pg.set_input_files("#file", files=[{"name": "holiday.png", "mimeType": "image/png", "buffer": b"not an image"}])
    pg.wait_for_selector("#error:not([hidden])")
    assert "not PNG, JPEG, TIFF, DICOM or NIfTI" in pg.inner_text("#error")
    pg.screenshot(path=str(ARTIFACTS / "error.png"), full_page=True)
    assert pg.js_errors == []


def test_dicom_upload_and_sequence_page(page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pydicom = pytest.importorskip("pydicom")
    from tests.web.dicom_sample import write_ct

    from netloupe.web.inputs import medical_available

    pg = page
    pg.goto(pg.base_url + "/")
    pg.wait_for_selector("#model option", state="attached")
    pg.set_input_files("#file", str(write_ct(tmp_path / "ct.dcm", pydicom)))
    if medical_available():
        _wait_heatmaps(pg, "gradcam", 1)
        assert pg.is_visible("#window-row")
        pg.select_option("#window", "bone")
        _wait_heatmaps(pg, "gradcam", 1)
        pg.screenshot(path=str(ARTIFACTS / "dicom.png"), full_page=True)
    else:
        pg.wait_for_selector("#error:not([hidden])")
        assert "needs netloupe.io.medical" in pg.inner_text("#error")
    pg.goto(pg.base_url + "/sequence")
    pg.wait_for_selector('#status[data-state="missing"]')
    assert "No sequence (text) model is installed" in pg.inner_text("#status")
    pg.goto(pg.base_url + "/api-docs")
    pg.wait_for_selector(".endpoint")
    assert "/api/explain" in pg.inner_text("#endpoints")
    assert pg.js_errors == []
