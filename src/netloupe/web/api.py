"""The JSON API: everything the page does, as documented endpoints (the page is one client of it)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..cam.registry import available_methods
from ._errors import ApiError
from .choose import choose_model, model_inputs, request_category, trained_on
from .inputs import SAMPLES, StoredInput, decode_upload, medical_available, prepare_image, sample_input, window_presets
from .schemas import ErrorOut, ExplainOut, InfoOut, TextIn, TextOut
from .service import (
    WebResult,
    heatmap_png,
    image_png,
    manifest_json,
    map_npy,
    overlay_png,
    parse_methods,
    picture,
    run_explain,
)
from .state import AppState

__all__ = ["build_router"]

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (404, 413, 415, 422, 503)}
_NPY: dict[int | str, dict[str, Any]] = {200: {"content": {"application/octet-stream": {}}}}
_PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.netloupe
    return state


def _result(state: AppState, result_id: str) -> WebResult:
    result = state.results.get(result_id)
    if result is None:
        raise ApiError(404, f"result_id: {result_id[:40]!r} is unknown or expired (results are kept in memory)")
    return result


def _png_response(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers={"cache-control": "private, max-age=600"})


def build_router() -> APIRouter:
    """All ``/api`` routes; they read the app's :class:`AppState` from ``request.app.state.netloupe``."""
    router = APIRouter(prefix="/api", responses=_ERRORS)

    @router.get("/health", tags=["service"])
    async def health() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok", "version": __version__}

    @router.get("/info", response_model=InfoOut, tags=["service"])
    async def info(request: Request) -> InfoOut:
        """Models, methods, samples and limits: everything the page needs to draw its controls."""
        state = _state(request)
        loaded = set(state.pool.loaded_names())
        s = state.settings
        return InfoOut(
            version=__version__,
            models=[
                {  # type: ignore[misc]
                    "name": n,
                    "description": state.pool.description(n),
                    "loaded": n in loaded,
                    "inputs": model_inputs(state.pool, n),
                    "trained_on": trained_on(state.pool, n),
                }
                for n in state.pool.names
            ],
            default_model=state.default_model,
            methods=available_methods(),
            samples=[
                {"id": k, "description": d, "image_url": f"/api/samples/{k}.png"}  # type: ignore[misc]
                for k, (_, d) in SAMPLES.items()
            ],
            medical=medical_available(),
            window_presets=window_presets(),
            text_models=await run_in_threadpool(lambda: state.text.names),
            limits={
                "max_upload_bytes": s.max_upload_bytes,
                "max_pixels": s.max_pixels,
                "max_voxels": s.max_voxels,
                "max_concurrent": s.max_concurrent,
                "max_side": s.max_side,
                "max_top_k": s.max_top_k,
                "max_methods": s.max_methods,
                "request_timeout_s": s.request_timeout_s,
            },
        )

    @router.get("/samples/{sample_id}.png", responses=_PNG, response_class=Response, tags=["inputs"])
    async def sample_image(request: Request, sample_id: str) -> Response:
        """A bundled sample photo (by id from ``/api/info``; no other file can be named)."""
        stored = await run_in_threadpool(sample_input, sample_id, _state(request).settings)
        assert stored.image is not None
        from .service import _png

        return _png_response(_png(stored.image))

    @router.post("/explain", response_model=ExplainOut, tags=["explain"])
    async def explain(
        request: Request,
        file: Annotated[UploadFile | None, File(description="PNG, JPEG, TIFF, DICOM or NIfTI (sniffed)")] = None,
        sample: Annotated[str | None, Form(description="a sample id from /api/info")] = None,
        input_id: Annotated[str | None, Form(description="an input_id from an earlier answer")] = None,
        model: Annotated[
            str | None, Form(description="a served model (default: the default model if it reads the input)")
        ] = None,
        methods: Annotated[str, Form(description="comma-separated CAM methods")] = "gradcam",
        top_k: Annotated[int, Form(description="explain the k most probable classes")] = 3,
        slice_index: Annotated[int | None, Form(alias="slice", description="volume slice (default: middle)")] = None,
        window: Annotated[str | None, Form(description="DICOM window preset or 'CENTER,WIDTH'")] = None,
    ) -> dict[str, Any]:
        """Explain an upload, a sample or an earlier input: top-k predictions and one map per method and class.

        Give exactly one of ``file``, ``sample`` or ``input_id``.
        """
        state = _state(request)
        s = state.settings
        given = [x is not None and x != "" for x in (file, sample, input_id)]
        if sum(given) != 1:
            raise ApiError(422, "input: give exactly one of file, sample or input_id")
        method_names = parse_methods(methods, s)
        heavy = state.pool.heavy
        if file is not None:
            data = await file.read(s.max_upload_bytes + 1)
            await file.close()
            filename = file.filename

            def decode() -> StoredInput:
                with heavy.hold(time.monotonic() + s.request_timeout_s):
                    return decode_upload(data, filename, s)

            stored = await run_in_threadpool(decode)
            in_id = state.inputs.put(stored)
        elif sample:
            stored = await run_in_threadpool(sample_input, sample, s)
            in_id = state.inputs.put(stored)
        else:
            assert input_id is not None
            found: StoredInput | None = state.inputs.get(input_id)
            if found is None:
                raise ApiError(404, f"input_id: {input_id[:40]!r} is unknown or expired; upload the file again")
            stored, in_id = found, input_id

        # One time limit for the whole request; when it passes the client gets 503 at once and ``cancel`` stops
        # the worker at the model's next layer call, so the slot and the model's lock come back.
        cancel = threading.Event()
        deadline = time.monotonic() + s.request_timeout_s

        def work() -> WebResult:
            with heavy.hold(deadline, cancel):
                image, info = prepare_image(stored, slice_index, window or None, s)
                choice = choose_model(
                    state.pool,
                    model,
                    request_category(stored, image, info.get("modality")),
                    state.default_model,
                    medical=stored.image is None,
                    modality=str(info.get("modality") or "") or None,
                )
                run, boxes, seconds = run_explain(
                    state.pool, choice.model, image, stored.name, method_names, top_k, s, cancel=cancel,
                    deadline=deadline,
                )  # fmt: skip
            info = {**stored.info, **info, "name": stored.name, "category": choice.category}
            info.update(model_reason=choice.reason, warning=choice.warning)
            return WebResult(run, in_id, info, boxes, seconds)

        try:
            result = await asyncio.wait_for(
                anyio.to_thread.run_sync(work, abandon_on_cancel=True), timeout=s.request_timeout_s
            )
        except asyncio.TimeoutError as exc:
            cancel.set()
            raise ApiError(503, f"request: the explanation took longer than {s.request_timeout_s:.0f} s") from exc
        rid = state.results.put(result)
        return _explain_body(rid, result)

    @router.get("/results/{result_id}/image.png", responses=_PNG, response_class=Response, tags=["results"])
    async def result_image(request: Request, result_id: str) -> Response:
        """The explained image (for a volume: the slice) at the maps' resolution."""
        return _png_response(await run_in_threadpool(image_png, _result(_state(request), result_id)))

    @router.get("/results/{result_id}/heatmap.png", responses=_PNG, response_class=Response, tags=["results"])
    async def result_heatmap(
        request: Request, result_id: str, method: str, rank: Annotated[int, Query(ge=1)] = 1
    ) -> Response:
        """The map as an RGBA PNG (turbo colours, alpha 0.35 + 0.65 v) for client-side blending."""
        res = _result(_state(request), result_id)
        return _png_response(await run_in_threadpool(heatmap_png, res, method, rank))

    @router.get("/results/{result_id}/overlay.png", responses=_PNG, response_class=Response, tags=["results"])
    async def result_overlay(
        request: Request,
        result_id: str,
        method: str,
        rank: Annotated[int, Query(ge=1)] = 1,
        alpha: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
    ) -> Response:
        """The overlay PNG (download), blended on the server as ``netloupe explain`` does."""
        res = _result(_state(request), result_id)
        data = await run_in_threadpool(overlay_png, res, method, rank, alpha)
        name = f"{res.run.results[0].id}_{method}_top{rank}.png"
        return Response(data, media_type="image/png", headers=_attachment(name))

    @router.get("/results/{result_id}/map.npy", response_class=Response, tags=["results"], responses=_NPY)
    async def result_npy(
        request: Request, result_id: str, method: str, rank: Annotated[int, Query(ge=1)] = 1
    ) -> Response:
        """The map as a float32 ``.npy`` array (height, width), values in [0, 1]; load with ``np.load``."""
        res = _result(_state(request), result_id)
        data = await run_in_threadpool(map_npy, res, method, rank)
        name = f"{res.run.results[0].id}_{method}_top{rank}.npy"
        return Response(data, media_type="application/octet-stream", headers=_attachment(name))

    @router.get("/results/{result_id}/manifest.json", tags=["results"])
    async def result_manifest(request: Request, result_id: str) -> JSONResponse:
        """The run manifest (docs/manifest.md) plus a ``web`` block with boxes and the input description."""
        res = _result(_state(request), result_id)
        body = await run_in_threadpool(manifest_json, res)
        return JSONResponse(body, headers=_attachment(f"{res.run.results[0].id}_manifest.json"))

    @router.get("/sequence/models", tags=["sequence"])
    async def sequence_models(request: Request) -> dict[str, Any]:
        """Served text models (empty when the sequence package provides none)."""
        names = await run_in_threadpool(lambda: _state(request).text.names)
        return {"installed": bool(names), "models": names}

    @router.post("/sequence/explain", response_model=TextOut, tags=["sequence"])
    async def sequence_explain(request: Request, body: TextIn) -> dict[str, Any]:
        """Classify a sentence and colour each token by its attribution."""
        state = _state(request)
        names = await run_in_threadpool(lambda: state.text.names)
        name = body.model or (names[0] if names else "")
        try:
            return await asyncio.wait_for(
                anyio.to_thread.run_sync(state.text.explain, name, body.text), timeout=state.settings.request_timeout_s
            )
        except asyncio.TimeoutError as exc:
            raise ApiError(503, "request: the explanation took too long") from exc

    return router


def _attachment(name: str) -> dict[str, str]:
    safe = "".join(c if c.isalnum() or c in "._-+" else "_" for c in name)
    return {"content-disposition": f'attachment; filename="{safe}"'}


def _explain_body(rid: str, result: WebResult) -> dict[str, Any]:
    res = result.run.results[0]
    base = f"/api/results/{rid}"
    maps: dict[str, list[dict[str, Any]]] = {}
    for method, arr in res.maps.items():
        q = f"method={method.replace('+', '%2B')}"
        maps[method] = [
            {
                "rank": k + 1,
                "class_index": res.class_ids[k],
                "label": res.labels[k],
                "box": result.boxes[method][k],
                "heatmap_url": f"{base}/heatmap.png?{q}&rank={k + 1}",
                "overlay_url": f"{base}/overlay.png?{q}&rank={k + 1}",
                "npy_url": f"{base}/map.npy?{q}&rank={k + 1}",
            }
            for k in range(arr.shape[0])
        ]
    return {
        "result_id": rid,
        "input_id": result.input_id,
        "model": result.run.model_name,
        "model_reason": result.input_info.get("model_reason", ""),
        "warning": result.input_info.get("warning"),
        "layers": result.run.layers,
        "methods": result.run.methods,
        "width": picture(result).width,
        "height": picture(result).height,
        "input": result.input_info,
        "predictions": res.predictions(),
        "maps": maps,
        "image_url": f"{base}/image.png",
        "manifest_url": f"{base}/manifest.json",
        "seconds": round(result.seconds, 4),
    }
