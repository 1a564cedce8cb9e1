"""A bounded load test on loopback: 200 requests from 8 concurrent clients, no errors (times are reported only)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.web.conftest import png_bytes, tiny_settings

from netloupe.web import create_app
from netloupe.web.loadtest import run_load_test, serve_in_thread, write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def test_200_requests_from_8_clients_without_errors(cat) -> None:  # type: ignore[no-untyped-def]
    app = create_app(tiny_settings())
    with serve_in_thread(app) as url:
        assert url.startswith("http://127.0.0.1:")
        report = run_load_test(url, "tiny", n_requests=200, concurrency=8, upload=png_bytes(cat.resize((48, 32))))
    assert report["errors"] == 0 and report["status_codes"] == [200]
    assert report["all"]["n"] == 200
    assert sum(p["n"] for p in report["by_kind"].values()) == 200
    assert report["all"]["p50_ms"] <= report["all"]["p95_ms"] <= report["all"]["max_ms"]
    js, md = write_report(report, ARTIFACTS)
    assert json.loads(js.read_text())["requests"] == 200
    assert "| all | 200 |" in md.read_text()
