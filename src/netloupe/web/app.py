"""The web app factory: ``create_app(settings)`` -> a FastAPI app serving the page and the JSON API."""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import NetloupeError
from ._errors import ApiError
from .api import build_router
from .middleware import BodyLimit, SecurityHeaders
from .settings import Settings
from .state import AppState

__all__ = ["create_app"]

log = logging.getLogger("netloupe.web")
STATIC = Path(__file__).parent / "static"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "form"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid value')}")
    return "; ".join(parts) or "request: invalid parameters"


@lru_cache(maxsize=1)
def favicon_png() -> bytes:
    """A 32x32 PNG loupe (drawn here, so no binary file ships and nothing is fetched)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line((19, 19, 29, 29), fill=(29, 36, 48, 255), width=5)
    draw.ellipse((2, 2, 22, 22), fill=(207, 224, 255, 255), outline=(36, 86, 201, 255), width=3)
    draw.ellipse((8, 8, 15, 15), fill=(255, 112, 67, 255))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Models named in ``settings`` are checked now and loaded on first use."""
    settings = settings or Settings()
    app = FastAPI(
        title="netloupe",
        version=__version__,
        docs_url=None,  # FastAPI's Swagger/ReDoc pages load from a CDN; /api-docs is served locally instead
        redoc_url=None,
        description=(
            "Explain an image, a scan or a sentence: top-k predictions and class activation maps. "
            'Errors are JSON `{"error": ..., "status": ...}` with a 4xx status for bad input.'
        ),
    )
    app.state.netloupe = AppState.create(settings)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(NetloupeError)
    async def _netloupe_error(_: Request, exc: NetloupeError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")

    app.include_router(build_router())

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(favicon_png(), media_type="image/png", headers={"cache-control": "public, max-age=86400"})

    @app.get("/sequence", include_in_schema=False)
    async def sequence_page() -> FileResponse:
        return FileResponse(STATIC / "sequence.html", media_type="text/html")

    @app.get("/api-docs", include_in_schema=False)
    async def api_docs() -> FileResponse:
        return FileResponse(STATIC / "api.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + 64 * 1024)  # multipart overhead
    app.add_middleware(SecurityHeaders)
    return app
