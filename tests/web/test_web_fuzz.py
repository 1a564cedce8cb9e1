"""Property-based fuzzing of the API (hypothesis): malformed input never yields a 5xx."""

from __future__ import annotations

import gzip
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.web.test_web_sniff_boxes import nifti_header

# Prefixes that pass the content sniffing, so that the fuzzer reaches the decoders behind it.
PREFIXES = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"\x00" * 128 + b"DICM",
    nifti_header(),
    gzip.compress(nifti_header()),
]
FUZZ = settings(max_examples=35, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
text = st.text(max_size=30)


@pytest.fixture(scope="module")
def fuzz_client():  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from tests.web.conftest import tiny_settings

    from netloupe.web import create_app

    return TestClient(create_app(tiny_settings(max_upload_bytes=50_000)), raise_server_exceptions=False)


@FUZZ
@given(
    prefix=st.sampled_from(PREFIXES),
    body=st.binary(max_size=600),
    filename=text,
    model=st.one_of(st.none(), st.just("tiny"), text),
    methods=st.one_of(st.none(), st.just("gradcam"), text),
    top_k=st.one_of(st.none(), st.integers(-5, 50).map(str), text),
    slice_=st.one_of(st.none(), st.integers(-3, 3).map(str), text),
    window=st.one_of(st.none(), st.just("lung"), text),
)
def test_upload_fuzz_never_5xx(fuzz_client, prefix, body, filename, model, methods, top_k, slice_, window) -> None:  # type: ignore[no-untyped-def]
    fields = {"model": model, "methods": methods, "top_k": top_k, "slice": slice_, "window": window}
    data = {k: v for k, v in fields.items() if v is not None}
    r = fuzz_client.post("/api/explain", files={"file": (filename or "f", prefix + body)}, data=data)
    assert r.status_code < 500, r.text
    if r.status_code != 200:
        assert r.json()["error"] and r.json()["status"] == r.status_code


@FUZZ
@given(
    sample=st.one_of(st.sampled_from(["chelsea", "../../etc/passwd", ""]), text),
    input_id=st.one_of(st.none(), text),
    top_k=st.one_of(st.none(), st.integers(-2, 12).map(str)),
)
def test_form_fuzz_never_5xx(fuzz_client, sample, input_id, top_k) -> None:  # type: ignore[no-untyped-def]
    data = {"sample": sample, "methods": "cam", **({"input_id": input_id} if input_id is not None else {})}
    if top_k is not None:
        data["top_k"] = top_k
    r = fuzz_client.post("/api/explain", data=data)
    assert r.status_code < 500, r.text


@FUZZ
@given(
    result_id=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), max_size=20),
    endpoint=st.sampled_from(["heatmap.png", "overlay.png", "map.npy", "manifest.json", "image.png", "x"]),
    query=st.dictionaries(st.sampled_from(["method", "rank", "alpha"]), text, max_size=3),
    real=st.booleans(),
)
def test_result_fuzz_never_5xx(fuzz_client, result_id, endpoint, query, real) -> None:  # type: ignore[no-untyped-def]
    if real:
        made = fuzz_client.post("/api/explain", data={"sample": "rocket", "methods": "gradcam"})
        result_id = made.json()["result_id"]
    r = fuzz_client.get(f"/api/results/{quote(result_id, safe='')}/{endpoint}", params=query)
    assert r.status_code < 500, r.text


@FUZZ
@given(path=st.one_of(st.text(max_size=40), st.sampled_from(["../../../../etc/passwd", "..%2f..%2fetc/passwd"])),
       raw=st.binary(max_size=200))
def test_paths_and_json_fuzz_never_5xx(fuzz_client, path, raw) -> None:  # type: ignore[no-untyped-def]
    quoted = quote(path, safe="/.")  # keeps "../" so that traversal attempts reach the server
    for url in (f"/static/{quoted}", f"/api/samples/{quoted}.png", f"/{quoted}", f"/static/..%2F..%2F{quoted}"):
        r = fuzz_client.get(url)
        assert r.status_code < 500
        assert b"root:x:0:0" not in r.content  # no file outside the static folder is ever served
    r = fuzz_client.post("/api/sequence/explain", content=raw, headers={"content-type": "application/json"})
    assert r.status_code < 500
