"""In a real headless Chromium, with every zoo model served (as `netloupe serve` does by default):

* the page's default model is the ImageNet model, a photo of a cat is answered by it and the page says
  which model answered and why; models that cannot read photos are not offered;
* a DICOM chest X-ray is answered by the chest X-ray model, shown scaled up with sharp pixels;
* when a request fails, the previous answer does not stay on screen as if it answered the new request;
* ``/favicon.ico`` is served (no 404 in the console).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.test_web_browser import ARTIFACTS, _wait_heatmaps, browser_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def zoo_page() -> Iterator[object]:
    from netloupe.web import Settings, create_app

    with browser_page(create_app(Settings(text_models={}))) as pg:
        yield pg


def test_photo_goes_to_the_default_imagenet_model_and_the_page_says_why(zoo_page) -> None:  # type: ignore[no-untyped-def]
    import skimage.data

    pg = zoo_page
    pg.goto(pg.base_url + "/")
    pg.wait_for_selector("#model option", state="attached")
    assert pg.input_value("#model") == "efficientnet-lite0"
    pg.set_input_files("#file", str(Path(skimage.data.__file__).parent / "chelsea.png"))
    _wait_heatmaps(pg, "gradcam", 1)
    answer = pg.inner_text("#answer")
    assert "Answered by efficientnet-lite0" in answer and "default model" in answer
    assert "Egyptian cat" in pg.locator(".pred").nth(0).inner_text()
    assert pg.is_hidden("#warning")
    # Models trained on grey medical images are not offered for a colour photo.
    assert pg.eval_on_selector('#model option[value="breast-cnn"]', "o => o.disabled") is True
    assert pg.eval_on_selector('#model option[value="efficientnet-lite0"]', "o => o.disabled") is False
    pg.wait_for_timeout(300)
    assert not [u for u in pg.not_found if u.endswith("/favicon.ico")]
    assert pg.js_errors == []


def test_a_failed_request_does_not_leave_the_previous_answer_on_screen(zoo_page) -> None:  # type: ignore[no-untyped-def]
    import skimage.data

    pg = zoo_page
    pg.goto(pg.base_url + "/")
    pg.wait_for_selector("#model option", state="attached")
    pg.set_input_files("#file", str(Path(skimage.data.__file__).parent / "chelsea.png"))
    _wait_heatmaps(pg, "gradcam", 1)
    assert pg.locator("figure.panel").count() == 1
    pg.set_input_files("#file", files=[{"name": "dog.png", "mimeType": "image/png", "buffer": b"not an image"}])
    pg.wait_for_selector("#error:not([hidden])")
    assert pg.get_attribute("#status", "data-state") == "error"
    assert pg.locator("figure.panel").count() == 0  # no cat map shown as the answer for dog.png
    assert pg.locator(".pred").count() == 0
    assert pg.is_hidden("#answer") and pg.is_hidden("#downloads")
    pg.screenshot(path=str(ARTIFACTS / "failed-request.png"), full_page=True)
    assert pg.js_errors == []


def test_dicom_xray_answered_by_the_chest_model_scaled_up_sharp(zoo_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pydicom = pytest.importorskip("pydicom")
    from tests.web.dicom_sample import write_ct

    from netloupe.web.inputs import medical_available

    if not medical_available():
        pytest.skip("DICOM reading needs the medical extra")
    ds = pydicom.dcmread(write_ct(tmp_path / "ct.dcm", pydicom, size=28))
    ds.Modality = "DX"
    ds.save_as(tmp_path / "xray.dcm")
    pg = zoo_page
    pg.goto(pg.base_url + "/")
    pg.wait_for_selector("#model option", state="attached")
    pg.set_input_files("#file", str(tmp_path / "xray.dcm"))
    _wait_heatmaps(pg, "gradcam", 1)
    assert "Answered by pneumonia-cnn" in pg.inner_text("#answer")
    assert pg.input_value("#model") == "pneumonia-cnn"
    width = pg.eval_on_selector("figure.panel img.photo", "img => img.getBoundingClientRect().width")
    assert width >= 256  # 28 px shown at a whole multiple, not at native size
    heat_width = pg.eval_on_selector("figure.panel img.heat", "img => img.getBoundingClientRect().width")
    assert abs(heat_width - width) < 1  # the map lies exactly over the image
    rendering = pg.eval_on_selector("figure.panel img.photo", "img => getComputedStyle(img).imageRendering")
    assert rendering == "pixelated"
    pg.screenshot(path=str(ARTIFACTS / "xray.png"), full_page=True)
    assert pg.js_errors == []
