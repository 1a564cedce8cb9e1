"""A bounded load test on loopback: a real uvicorn server in a thread, N requests from C concurrent clients.

``python -m netloupe.web.loadtest --out results/web`` runs 200 requests from 8 clients against the default
model and writes ``load_test.json`` and ``load_test.md`` (latency percentiles; nothing is asserted on time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI

from ..io.atomic import atomic_write_text
from ..runner.resources import usable_cpus

__all__ = ["run_load_test", "serve_in_thread", "write_report"]


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port of ``host`` in a daemon thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    arr = np.asarray(ms)
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(arr, 50)), 1),
        "p90_ms": round(float(np.percentile(arr, 90)), 1),
        "p95_ms": round(float(np.percentile(arr, 95)), 1),
        "p99_ms": round(float(np.percentile(arr, 99)), 1),
        "max_ms": round(float(arr.max()), 1),
        "mean_ms": round(float(arr.mean()), 1),
    }


def run_load_test(
    base_url: str,
    model: str,
    n_requests: int = 200,
    concurrency: int = 8,
    methods: str = "gradcam",
    upload: bytes | None = None,
) -> dict[str, Any]:
    """Send ``n_requests`` (half POST /api/explain, a quarter GET heatmap PNG, a quarter GET /api/info) from
    ``concurrency`` threads; returns counts, errors and latency percentiles.

    The explain requests use the bundled samples in turn, or upload ``upload`` (image bytes) when given.
    """
    import httpx

    samples = ["chelsea", "coffee", "motorcycle", "rocket"]

    def explain(client: httpx.Client, i: int) -> httpx.Response:
        data = {"model": model, "methods": methods}
        if upload is not None:
            return client.post("/api/explain", data=data, files={"file": ("upload", upload)})
        return client.post("/api/explain", data={**data, "sample": samples[i % len(samples)]})

    with httpx.Client(base_url=base_url, timeout=120) as warm:
        first = explain(warm, 0)
        first.raise_for_status()
        heatmap = first.json()["maps"][methods.split(",")[0]][0]["heatmap_url"]

    def one(i: int) -> tuple[str, int, float]:
        kind = ("explain", "heatmap", "explain", "info")[i % 4]
        with httpx.Client(base_url=base_url, timeout=120) as client:
            start = time.perf_counter()
            if kind == "explain":
                r = explain(client, i)
            elif kind == "heatmap":
                r = client.get(heatmap)
            else:
                r = client.get("/api/info")
            return kind, r.status_code, (time.perf_counter() - start) * 1000.0

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, range(n_requests)))
    wall = time.perf_counter() - start
    errors = [(k, s) for k, s, _ in outcomes if s != 200]
    by_kind = {k: _percentiles([ms for kk, _, ms in outcomes if kk == k]) for k in ("explain", "heatmap", "info")}
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {usable_cpus()} CPU cores (shared), Python {platform.python_version()}",
        "model": model,
        "methods": methods,
        "inputs": "one uploaded image" if upload is not None else "the four bundled sample photos (451x300 to 600x400)",
        "requests": n_requests,
        "concurrency": concurrency,
        "errors": len(errors),
        "status_codes": sorted({s for _, s, _ in outcomes}),
        "wall_s": round(wall, 2),
        "throughput_rps": round(n_requests / wall, 2),
        "all": _percentiles([ms for _, _, ms in outcomes]),
        "by_kind": by_kind,
    }


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``load_test.json`` and ``load_test.md`` under ``out_dir`` (atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "load_test.json", out_dir / "load_test.md"
    lines = [
        f"# Web app load test ({report['model']}, {report['methods']})",
        "",
        f"{report['requests']} requests from {report['concurrency']} concurrent clients on loopback; "
        f"errors: {report['errors']}; status codes: {report['status_codes']}; wall {report['wall_s']} s "
        f"({report['throughput_rps']} requests/s). Inputs: {report['inputs']}. Machine: {report['machine']}. "
        f"Date: {report['date']}. Each request opens its own connection; explain requests run the model under its "
        "lock, so they queue.",
        "",
        "| requests | n | p50 ms | p90 ms | p95 ms | p99 ms | max ms | mean ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, p in [("all", report["all"]), *report["by_kind"].items()]:
        if p:
            lines.append(
                f"| {name} | {p['n']} | {p['p50_ms']} | {p['p90_ms']} | {p['p95_ms']} | {p['p99_ms']} | "
                f"{p['max_ms']} | {p['mean_ms']} |"
            )
    for path, text in ((js, json.dumps(report, indent=2)), (md, "\n".join(lines) + "\n")):
        atomic_write_text(path, text)
    return js, md


def main(argv: list[str] | None = None) -> None:
    import torch

    from .app import create_app
    from .settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("results/web"))
    parser.add_argument("--model", default="efficientnet-lite0")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--methods", default="gradcam")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    app = create_app(Settings(models=(args.model,)))
    with serve_in_thread(app) as url:
        report = run_load_test(url, args.model, args.requests, args.concurrency, args.methods)
    for path in write_report(report, args.out):
        print(f"wrote {path}")
    print(json.dumps(report["all"]))


if __name__ == "__main__":
    main()
