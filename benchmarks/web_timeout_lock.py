"""A request that times out must give its model back (issue 16 item 2); see results/web/README.md.

Run from the repository root: PYTHONPATH=src:. python benchmarks/web_timeout_lock.py
"""

import time

from fastapi.testclient import TestClient
from tests.web.conftest import png_bytes, tiny_model, tiny_settings
from tests.web.test_web_limits import _SlowOnBatches

from netloupe.demo.images import demo_photo
from netloupe.web import create_app


def slow():  # type: ignore[no-untyped-def]
    loaded = tiny_model()
    loaded.model = _SlowOnBatches(loaded.model).eval()
    return loaded


c = TestClient(
    create_app(tiny_settings(extra_models={"slow": slow}, request_timeout_s=1.0)), raise_server_exceptions=False
)
files = {"file": ("cat.png", png_bytes(demo_photo("chelsea.png").resize((120, 80))), "image/png")}
c.post("/api/explain", data={"model": "slow", "methods": "gradcam", "top_k": "1"}, files=files)
t = time.perf_counter()
r1 = c.post("/api/explain", data={"model": "slow", "methods": "scorecam", "top_k": "1"}, files=files)
t1 = time.perf_counter() - t
t = time.perf_counter()
r2 = c.post("/api/explain", data={"model": "slow", "methods": "gradcam", "top_k": "1"}, files=files)
t2 = time.perf_counter() - t
served = c.app.state.netloupe.pool.get("slow")
t = time.perf_counter()
served.lock.acquire()
t3 = time.perf_counter() - t
print(
    f"scorecam: {r1.status_code} after {t1:.2f} s; next gradcam: {r2.status_code} after {t2:.2f} s; "
    f"lock free after a further {t3:.2f} s"
)
