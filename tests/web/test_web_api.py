"""The JSON API on a tiny CNN: values of predictions, maps, heatmaps, overlays, boxes and downloads."""

from __future__ import annotations

import io
import json
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from tests.web.conftest import TINY_CLASSES, png_bytes, tiny_model

from netloupe.pipeline import explain_images
from netloupe.viz.colormaps import apply_colormap
from netloupe.viz.overlay import overlay
from netloupe.web.boxes import localization_box


def _explain(client, image: Image.Image, name: str = "cat.png", **form: str):  # type: ignore[no-untyped-def]
    data = {"model": "tiny", "methods": "gradcam", "top_k": "3", **form}
    return client.post("/api/explain", files={"file": (name, png_bytes(image), "image/png")}, data=data)


def test_info_lists_served_models_methods_and_samples(client) -> None:  # type: ignore[no-untyped-def]
    info = client.get("/api/info").json()
    assert [m["name"] for m in info["models"]] == ["tiny"]
    assert info["default_model"] == "tiny"
    assert "gradcam" in info["methods"] and "scorecam" in info["methods"]
    assert {s["id"] for s in info["samples"]} == {"chelsea", "coffee", "motorcycle", "rocket"}
    assert info["text_models"] == []


def test_predictions_and_maps_equal_the_library(client, cat) -> None:  # type: ignore[no-untyped-def]
    r = _explain(client, cat, methods="gradcam,layercam")
    assert r.status_code == 200, r.text
    body = r.json()
    loaded = tiny_model()
    logits = loaded.model(loaded.preprocess.batch([cat]))
    probs = torch.softmax(logits, 1)[0]
    order = probs.argsort(descending=True)[:3].tolist()
    assert [p["class_index"] for p in body["predictions"]] == order
    assert [p["label"] for p in body["predictions"]] == [TINY_CLASSES[i] for i in order]
    np.testing.assert_allclose([p["probability"] for p in body["predictions"]], probs[order].tolist(), atol=1e-5)
    assert (body["width"], body["height"]) == (120, 80)
    assert body["methods"] == ["gradcam", "layercam"]

    expected = explain_images([cat], loaded, ["gradcam", "layercam"], top_k=3).results[0].maps
    for method in ("gradcam", "layercam"):
        for entry in body["maps"][method]:
            arr = np.load(io.BytesIO(client.get(entry["npy_url"]).content), allow_pickle=False)
            assert arr.dtype == np.float32 and arr.shape == (80, 120)
            np.testing.assert_allclose(arr, expected[method][entry["rank"] - 1], atol=1e-5)
            assert entry["box"] == list(localization_box(arr))


def test_heatmap_png_blends_in_the_browser_like_the_server_overlay(client, cat) -> None:  # type: ignore[no-untyped-def]
    body = _explain(client, cat).json()
    entry = body["maps"]["gradcam"][1]
    heat = np.asarray(Image.open(io.BytesIO(client.get(entry["heatmap_url"]).content)))
    v = np.load(io.BytesIO(client.get(entry["npy_url"]).content))
    assert heat.shape == (80, 120, 4)
    np.testing.assert_array_equal(heat[..., :3], apply_colormap(v))
    np.testing.assert_array_equal(heat[..., 3], ((0.35 + 0.65 * v) * 255).round().astype(np.uint8))
    # The page draws the heatmap over the photo with CSS opacity a: out = photo (1 - a A) + colour (a A).
    a = 0.7
    photo = np.asarray(Image.open(io.BytesIO(client.get(body["image_url"]).content)).convert("RGB"), np.float64)
    w = a * heat[..., 3:4] / 255.0
    browser = photo * (1 - w) + heat[..., :3] * w
    server = np.asarray(Image.open(io.BytesIO(client.get(entry["overlay_url"] + f"&alpha={a}").content)), np.float64)
    assert np.abs(browser - server).max() <= 2.0  # alpha is quantised to 1/255
    np.testing.assert_array_equal(server, np.asarray(overlay(cat, v, alpha=a)))


def test_manifest_follows_the_documented_format(client, cat) -> None:  # type: ignore[no-untyped-def]
    body = _explain(client, cat, name="../../etc/passwd.png").json()
    r = client.get(body["manifest_url"])
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    manifest = r.json()
    assert manifest["manifest_version"] == 2 and manifest["kind"] == "explain"
    assert manifest["model"] == "tiny" and manifest["methods"] == ["gradcam"]
    image = manifest["items"][0]
    assert image["source"] == "passwd.png"  # the client's name is a label only, never a path
    assert (image["width"], image["height"]) == (120, 80)
    assert image["predictions"] == body["predictions"]
    assert [m["rank"] for m in image["maps"]] == [1, 2, 3]
    assert manifest["web"]["localization_boxes"]["gradcam"] == [e["box"] for e in body["maps"]["gradcam"]]


def test_input_id_explains_the_same_upload_again(client, cat) -> None:  # type: ignore[no-untyped-def]
    first = _explain(client, cat).json()
    again = client.post("/api/explain", data={"input_id": first["input_id"], "methods": "eigencam", "top_k": "2"})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["input_id"] == first["input_id"] and body["methods"] == ["eigencam"]
    assert body["predictions"] == first["predictions"][:2]


def test_samples_are_served_by_id(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/explain", data={"sample": "coffee", "methods": "gradcam++"})
    assert r.status_code == 200, r.text
    assert (r.json()["width"], r.json()["height"]) == (600, 400)
    png = client.get("/api/samples/coffee.png")
    assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).size == (600, 400)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_photo_formats_are_sniffed_from_content_not_name(client, cat, fmt) -> None:  # type: ignore[no-untyped-def]
    data = png_bytes(cat, fmt)
    r = client.post("/api/explain", files={"file": ("photo.txt", data, "text/plain")}, data={"methods": "gradcam"})
    assert r.status_code == 200, r.text
    assert r.json()["input"]["kind"] == fmt.lower()


def test_large_images_are_scaled_to_the_working_size(make_client, cat) -> None:  # type: ignore[no-untyped-def]
    client = make_client(max_side=60)
    body = _explain(client, cat).json()
    assert (body["width"], body["height"]) == (60, 40)


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"", 422, "empty"),
        (b"hello, this is text pretending to be a PNG", 415, "not PNG, JPEG, TIFF, DICOM or NIfTI"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 422, "PNG"),
        (b"\x80\x04\x95" + b"cos\nsystem\n(S'echo pwned'\ntR." * 3, 415, "not PNG"),  # a pickle is never unpickled
    ],
)
def test_bad_uploads_are_4xx_with_a_clear_message(client, content, status, words) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/explain", files={"file": ("cat.png", content, "image/png")}, data={"methods": "gradcam"})
    assert r.status_code == status
    assert words in r.json()["error"] and r.json()["status"] == status


def test_truncated_jpeg_is_422(client, cat) -> None:  # type: ignore[no-untyped-def]
    data = png_bytes(cat, "JPEG")[:300]
    r = client.post("/api/explain", files={"file": ("cat.jpg", data)}, data={"methods": "gradcam"})
    assert r.status_code == 422 and "JPEG" in r.json()["error"]


def test_upload_limits_give_413(make_client, cat) -> None:  # type: ignore[no-untyped-def]
    client = make_client(max_upload_bytes=2000)
    big = png_bytes(cat)  # ~25 kB: over the file limit, under the body limit (file limit + 64 kB)
    r = client.post("/api/explain", files={"file": ("cat.png", big)}, data={"methods": "gradcam"})
    assert r.status_code == 413 and "2000 bytes" in r.json()["error"]
    r = client.post("/api/explain", files={"file": ("cat.png", big * 4)}, data={"methods": "gradcam"})
    assert r.status_code == 413 and "body is over the limit" in r.json()["error"]

    def chunks():  # type: ignore[no-untyped-def]  # streamed without Content-Length: counted as it arrives
        yield b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        for _ in range(200):
            yield b"x" * 1024

    headers = {"content-type": "multipart/form-data; boundary=xx"}
    r = client.post("/api/explain", content=chunks(), headers=headers)
    assert r.status_code == 413 and "body is over the limit" in r.json()["error"]
    pixels = make_client(max_pixels=1000)
    r = pixels.post("/api/explain", files={"file": ("cat.png", png_bytes(cat))}, data={"methods": "gradcam"})
    assert r.status_code == 413 and "pixels" in r.json()["error"]


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"model": "nope"}, 422, "available: tiny"),
        ({"methods": "gradkam"}, 422, "closest: 'gradcam'"),
        ({"methods": " , "}, 422, "methods"),
        ({"methods": "cam,gradcam,gradcam++,xgradcam,layercam"}, 422, "at most 4"),
        ({"top_k": "0"}, 422, "top_k"),
        ({"top_k": "many"}, 422, "top_k"),
        ({"slice": "3"}, 422, "DICOM and NIfTI"),
    ],
)
def test_bad_parameters_are_422(client, cat, form, status, words) -> None:  # type: ignore[no-untyped-def]
    r = _explain(client, cat, **form)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_input_selection_and_unknown_ids(client, cat) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/explain", data={"methods": "gradcam"}).status_code == 422
    both = client.post("/api/explain", files={"file": ("a.png", png_bytes(cat))}, data={"sample": "coffee"})
    assert both.status_code == 422 and "exactly one" in both.json()["error"]
    assert client.post("/api/explain", data={"sample": "../../../etc/passwd"}).status_code == 404
    assert client.get("/api/samples/..%2F..%2Fetc%2Fpasswd.png").status_code == 404
    assert client.post("/api/explain", data={"input_id": "deadbeef"}).status_code == 404
    assert client.get("/api/results/nope/heatmap.png?method=gradcam").status_code == 404
    body = _explain(client, cat).json()
    rid = body["result_id"]
    assert client.get(f"/api/results/{rid}/heatmap.png?method=scorecam").status_code == 404
    assert client.get(f"/api/results/{rid}/map.npy?method=gradcam&rank=9").status_code == 404
    assert client.get(f"/api/results/{rid}/overlay.png?method=gradcam&alpha=2").status_code == 422
    assert client.get("/static/../../pyproject.toml").status_code == 404


def test_concurrent_requests_share_one_model_safely(client, cat) -> None:  # type: ignore[no-untyped-def]
    reference = _explain(client, cat, methods="gradcam,gradcam++").json()
    out: list[tuple[int, object]] = []

    def worker() -> None:
        r = _explain(client, cat, methods="gradcam,gradcam++")
        out.append((r.status_code, r.json()))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in out] == [200] * 8
    for _, body in out:
        assert body["predictions"] == reference["predictions"]  # type: ignore[index]
        assert body["maps"]["gradcam"][0]["box"] == reference["maps"]["gradcam"][0]["box"]  # type: ignore[index]
    model = client.app.state.netloupe.pool.get("tiny").loaded.model
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())


def test_slow_model_times_out_with_503(make_client, cat) -> None:  # type: ignore[no-untyped-def]
    import time

    def slow():  # type: ignore[no-untyped-def]
        loaded = tiny_model()
        inner = loaded.model

        class Slow(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = inner

            def forward(self, x):  # type: ignore[no-untyped-def]
                time.sleep(0.6)
                return self.net(x)

        loaded.model = Slow().eval()
        return loaded

    client = make_client(extra_models={"slow": slow}, request_timeout_s=0.3)
    r = _explain(client, cat, model="slow")
    assert r.status_code == 503 and "longer than" in r.json()["error"]


def test_security_headers_and_local_defaults(client) -> None:  # type: ignore[no-untyped-def]
    from netloupe.web import Settings

    r = client.get("/")
    assert r.status_code == 200 and "netloupe" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "http" not in r.text.replace("http-equiv", "")  # no external (CDN) URL in the page
    for asset in ("app.js", "style.css", "sequence.js", "api.js"):
        text = client.get(f"/static/{asset}").text
        assert "http://" not in text and "https://" not in text
    assert Settings().host == "127.0.0.1"
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN; /api-docs is local
    assert client.get("/api-docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/api/explain", "/api/info", "/api/results/{result_id}/heatmap.png", "/api/sequence/explain"} <= set(
        schema["paths"]
    )


def test_sequence_page_without_and_with_a_text_model(make_client) -> None:  # type: ignore[no-untyped-def]
    none = make_client()
    assert none.get("/api/sequence/models").json() == {"installed": False, "models": []}
    r = none.post("/api/sequence/explain", json={"text": "hello"})
    assert r.status_code == 404 and "no text model" in r.json()["error"]

    def toy(text: str) -> dict[str, object]:
        words = text.split()
        return {"tokens": words, "scores": [len(w) - 3.0 for w in words], "label": "long", "probability": 0.75}

    client = make_client(text_models={"toy": toy})
    assert client.get("/api/sequence/models").json() == {"installed": True, "models": ["toy"]}
    body = client.post("/api/sequence/explain", json={"text": "a lovely day"}).json()
    assert [t["token"] for t in body["tokens"]] == ["a", "lovely", "day"]
    assert [t["score"] for t in body["tokens"]] == [-2.0, 3.0, 0.0]
    assert [t["relative"] for t in body["tokens"]] == pytest.approx([-2 / 3, 1.0, 0.0])
    assert body["label"] == "long" and body["probability"] == 0.75
    assert client.post("/api/sequence/explain", json={"text": "  "}).status_code == 422
    assert client.post("/api/sequence/explain", json={"model": "x", "text": "hi"}).status_code == 422
    assert client.get("/sequence").status_code == 200


def test_unexpected_errors_are_logged_and_answered_without_a_traceback(make_client, cat, caplog) -> None:  # type: ignore[no-untyped-def]
    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    client = make_client(extra_models={"broken": broken})
    r = _explain(client, cat, model="broken")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error; the server log has the details", "status": 500}
    assert "disk on fire" in caplog.text


@pytest.mark.parametrize("rank", [1, 2])
def test_manifest_download_is_json(client, cat, rank) -> None:  # type: ignore[no-untyped-def]
    body = _explain(client, cat).json()
    entry = body["maps"]["gradcam"][rank - 1]
    manifest = json.loads(client.get(body["manifest_url"]).content)
    assert manifest["items"][0]["maps"][rank - 1]["label"] == entry["label"]
