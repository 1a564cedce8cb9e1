"""The page's default is the ImageNet model; each input goes to a model that can read it, and the answer
says which model answered and why (or warns when the chosen model cannot read the input)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.web.conftest import png_bytes
from tests.web.dicom_sample import write_ct

from netloupe.demo.images import demo_photo
from netloupe.web import Settings, create_app


@pytest.fixture(scope="module")
def zoo_client() -> TestClient:
    """Every zoo model served, as `netloupe serve` does by default."""
    return TestClient(create_app(Settings(text_models={})), raise_server_exceptions=False)


def _explain(client: TestClient, data: bytes, name: str, **form: str) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/explain", files={"file": (name, data)}, data={"methods": "gradcam", **form})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_default_is_the_imagenet_model_not_the_first_name(zoo_client: TestClient) -> None:
    info = zoo_client.get("/api/info").json()
    names = [m["name"] for m in info["models"]]
    assert names[0] == "breast-cnn"  # alphabetical: what the page used to pick
    assert info["default_model"] == "efficientnet-lite0"
    by_name = {m["name"]: m for m in info["models"]}
    assert by_name["efficientnet-lite0"]["inputs"] == ["photo", "grey"]
    assert by_name["breast-cnn"]["inputs"] == ["grey"]
    assert by_name["pneumonia-cnn"]["trained_on"] == "grey-scale medical images"


def test_a_cat_photo_is_answered_by_the_imagenet_model(zoo_client: TestClient) -> None:
    body = _explain(zoo_client, png_bytes(demo_photo("chelsea.png")), "cat.png")
    assert body["model"] == "efficientnet-lite0"
    assert body["predictions"][0]["label"] == "Egyptian cat"
    assert "default model" in body["model_reason"] and "colour photograph" in body["model_reason"]
    assert body["warning"] is None
    assert body["input"]["category"] == "photo"


def test_a_chosen_model_that_cannot_read_the_input_answers_with_a_warning(zoo_client: TestClient) -> None:
    body = _explain(zoo_client, png_bytes(demo_photo("chelsea.png")), "cat.png", model="breast-cnn")
    assert body["model"] == "breast-cnn"
    assert "chosen" in body["model_reason"]
    assert body["warning"] and "colour photograph" in body["warning"] and "breast-cnn" in body["warning"]
    assert len(body["predictions"]) == 2  # a two-class model: top-3 adapts to 2


def test_dicom_xray_goes_to_the_chest_xray_model_and_ct_gets_a_warning(zoo_client: TestClient, tmp_path: Path) -> None:
    pydicom = pytest.importorskip("pydicom")
    ct_path = write_ct(tmp_path / "ct.dcm", pydicom)
    ct = _explain(zoo_client, ct_path.read_bytes(), "ct.dcm")
    assert ct["input"]["category"] == "scan"
    assert ct["warning"] and "CT/MR" in ct["warning"]
    ds = pydicom.dcmread(ct_path)
    ds.Modality = "DX"
    ds.save_as(tmp_path / "dx.dcm")
    dx = _explain(zoo_client, (tmp_path / "dx.dcm").read_bytes(), "dx.dcm")
    assert dx["input"]["category"] == "grey"
    assert dx["model"] == "pneumonia-cnn"
    assert "medical file" in dx["model_reason"]
    assert dx["warning"] is None
    assert {p["label"] for p in dx["predictions"]} == {"normal", "pneumonia"}


def test_grey_png_goes_to_the_default_model(zoo_client: TestClient) -> None:
    grey = Image.fromarray(np.asarray(demo_photo("chelsea.png").convert("L")))
    body = _explain(zoo_client, png_bytes(grey), "grey.png")
    assert body["input"]["category"] == "grey"
    assert body["model"] == "efficientnet-lite0"


def test_favicon_is_served(zoo_client: TestClient) -> None:
    r = zoo_client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    import io

    assert Image.open(io.BytesIO(r.content)).size == (32, 32)
