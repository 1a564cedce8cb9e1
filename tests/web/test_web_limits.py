"""Issue 16 items 1, 2 and 8 in the web app: header-first size limits with a measured memory bound,
bounded concurrency, the model's lock back after a timeout, and no silently ignored ``slice``."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from tests.fixtures.bad_inputs import png_with_header, rle_dicom, zero_nifti_gz
from tests.web.conftest import png_bytes, tiny_model, tiny_settings

from netloupe.web import create_app
from netloupe.web._errors import ApiError
from netloupe.web.inputs import decode_upload, prepare_image
from netloupe.web.limits import HeavySlots, RequestCancelled, cancel_on_forward

MB = 1 << 20


def _peak(fn: Callable[[], object]) -> tuple[object, int]:
    """(result or the exception raised, peak bytes traced by tracemalloc while ``fn`` ran)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        try:
            out: object = fn()
        except Exception as exc:
            out = exc
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def medical_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    pytest.importorskip("pydicom")
    pytest.importorskip("nibabel")
    folder = tmp_path_factory.mktemp("med")
    return {
        "dicom-big": rle_dicom(folder / "big.dcm", 2048, 2048).read_bytes(),  # 4.2 M pixels in 65 kB
        "dicom-ok": rle_dicom(folder / "ok.dcm", 512, 512).read_bytes(),  # 0.26 M pixels
        "nifti-big": zero_nifti_gz((160, 160, 160)),  # 4.1 M voxels in 4 kB
        "nifti-ok": zero_nifti_gz((64, 64, 64)),
    }


# The stated bound: refusing an over-limit file costs < 8 MB whatever its header promises (before this
# limit, the 4.2 M-pixel DICOM took ~130 MB and the 160^3 NIfTI ~110 MB to decode); an accepted file
# costs < 48 bytes per value it holds (the reader's values + display arrays, the slice and the PNG-ready copy).
REFUSE_BOUND = 8 * MB
BYTES_PER_VALUE = 48


@pytest.mark.parametrize("kind", ["dicom", "nifti"])
def test_over_limit_medical_upload_is_refused_before_decoding(kind: str, medical_files: dict[str, bytes]) -> None:
    settings = tiny_settings(max_voxels=1_000_000)
    out, peak = _peak(lambda: decode_upload(medical_files[f"{kind}-big"], f"x.{kind}", settings))
    assert isinstance(out, ApiError) and out.status == 413, out
    assert "limit is 1,000,000" in out.message
    assert peak < REFUSE_BOUND, f"refusing cost {peak / MB:.1f} MB"


@pytest.mark.parametrize(("kind", "values"), [("dicom", 512 * 512), ("nifti", 64**3)])
def test_accepted_medical_upload_stays_within_the_per_value_bound(
    kind: str, values: int, medical_files: dict[str, bytes]
) -> None:
    settings = tiny_settings(max_voxels=1_000_000)
    out, peak = _peak(lambda: decode_upload(medical_files[f"{kind}-ok"], f"x.{kind}", settings))
    assert not isinstance(out, Exception), out
    assert peak < BYTES_PER_VALUE * values + 4 * MB, f"{peak / values:.1f} bytes per value"


def test_photo_limit_is_checked_from_the_header() -> None:
    settings = tiny_settings(max_pixels=1_000_000)
    out, peak = _peak(lambda: decode_upload(png_with_header(4000, 4000), "bomb.png", settings))
    assert isinstance(out, ApiError) and out.status == 413
    assert peak < REFUSE_BOUND


def test_slice_on_a_2d_dicom_is_refused(medical_files: dict[str, bytes]) -> None:
    settings = tiny_settings()
    stored = decode_upload(medical_files["dicom-ok"], "x.dcm", settings)
    with pytest.raises(ApiError, match="2-D") as exc:
        prepare_image(stored, -1, None, settings)
    assert exc.value.status == 422
    image, info = prepare_image(stored, None, None, settings)
    assert image.size == (512, 512) and info["n_slices"] == 1


def test_heavy_slots_queue_then_refuse() -> None:
    slots = HeavySlots(1, queue=1)
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def holder() -> None:
        with slots.hold(time.monotonic() + 5):
            inside.set()
            release.wait(5)
            order.append("first")

    def waiter() -> None:
        with slots.hold(time.monotonic() + 5):
            order.append("second")

    t1 = threading.Thread(target=holder)
    t1.start()
    assert inside.wait(5)
    t2 = threading.Thread(target=waiter)
    t2.start()
    deadline = time.monotonic() + 5
    while slots._waiting == 0 and time.monotonic() < deadline:  # the waiter is queued
        time.sleep(0.01)
    with pytest.raises(ApiError, match="busy") as exc, slots.hold(time.monotonic() + 5):
        pass  # a third request finds the slot taken and the queue full: 503 at once
    assert exc.value.status == 503
    release.set()
    t1.join(5)
    t2.join(5)
    assert order == ["first", "second"] and slots.running == 0


def test_cancel_on_forward_stops_at_the_next_layer_and_removes_its_hooks() -> None:
    model = tiny_model().model
    cancel = threading.Event()
    x = torch.rand(1, 3, 32, 32)
    with cancel_on_forward(model, cancel):
        y = model(x)  # not cancelled: the same output as without the hooks
    assert torch.equal(y, model(x))
    cancel.set()
    with pytest.raises(RequestCancelled), cancel_on_forward(model, cancel):
        model(x)
    assert all(not m._forward_pre_hooks for m in model.modules())


class _SlowOnBatches(torch.nn.Module):
    """The tiny CNN behind 40 layers that each sleep 50 ms per call on batches (Score-CAM's masked passes)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.waits = torch.nn.ModuleList(_Sleep() for _ in range(40))
        self.net = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for wait in self.waits:
            x = wait(x)
        return self.net(x)


class _Sleep(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 1:
            time.sleep(0.05)
        return x


def test_timed_out_request_gives_the_model_back(cat) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 item 2: after the 503 the work stops, the lock comes back and the next request is served.

    Uncancelled, the Score-CAM request would hold the model for 40 x 50 ms per masked batch (seconds); the
    gradcam request that follows runs single images only (no sleep) and must get the model in time.
    """

    def slow():  # type: ignore[no-untyped-def]
        loaded = tiny_model()
        loaded.model = _SlowOnBatches(loaded.model).eval()
        return loaded

    settings = tiny_settings(extra_models={"slow": slow}, request_timeout_s=1.0)
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    data = {"model": "slow", "top_k": "1"}
    files = {"file": ("cat.png", png_bytes(cat), "image/png")}
    warm = client.post("/api/explain", data={**data, "methods": "gradcam"}, files=files)
    assert warm.status_code == 200, warm.text
    r1 = client.post("/api/explain", data={**data, "methods": "scorecam"}, files=files)
    assert r1.status_code == 503 and "longer than" in r1.json()["error"]
    r2 = client.post("/api/explain", data={**data, "methods": "gradcam"}, files=files)
    assert r2.status_code == 200, r2.text
    assert r2.json()["predictions"] == warm.json()["predictions"]
    served = client.app.state.netloupe.pool.get("slow")
    assert served.lock.acquire(timeout=5)
    served.lock.release()
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in served.loaded.model.modules())
    assert client.app.state.netloupe.pool.heavy.running == 0


def test_decoding_error_path_keeps_no_temporary_file(tmp_path: Path, medical_files: dict[str, bytes]) -> None:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("netloupe-web-*"))
    with pytest.raises(ApiError):
        decode_upload(medical_files["dicom-big"], "x.dcm", tiny_settings(max_voxels=1000))
    assert set(Path(tempfile.gettempdir()).glob("netloupe-web-*")) == before


def test_requests_beyond_the_slots_and_queue_get_503_busy(cat) -> None:  # type: ignore[no-untyped-def]
    def slow():  # type: ignore[no-untyped-def]
        loaded = tiny_model()
        loaded.model = _SlowOnBatches(loaded.model).eval()
        return loaded

    settings = tiny_settings(extra_models={"slow": slow}, request_timeout_s=2.0, max_concurrent=1, max_queued=0)
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    files = {"file": ("cat.png", png_bytes(cat), "image/png")}
    first: list[int] = []
    worker = threading.Thread(
        target=lambda: first.append(
            client.post("/api/explain", data={"model": "slow", "methods": "scorecam"}, files=files).status_code
        )
    )
    worker.start()
    heavy = client.app.state.netloupe.pool.heavy
    deadline = time.monotonic() + 10
    while heavy.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    r = client.post("/api/explain", data={"model": "slow", "methods": "gradcam"}, files=files)
    assert r.status_code == 503 and "busy" in r.json()["error"]
    worker.join(15)
    assert first == [503]  # the Score-CAM request itself ran out of time and was cancelled
    deadline = time.monotonic() + 10
    while heavy.running and time.monotonic() < deadline:  # its worker stops at the next layer call
        time.sleep(0.01)
    assert heavy.running == 0
    assert client.post("/api/explain", data={"model": "slow", "methods": "gradcam"}, files=files).status_code == 200
