"""The web app: upload an image, a scan or a sentence and see where the model looked.

``create_app(Settings(...))`` builds a FastAPI app (the page is static HTML/CSS/JS served by it, one client
of the documented JSON API); ``netloupe serve`` runs it with uvicorn on 127.0.0.1.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
