"""An error the API answers with a given status and a one-line message."""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """Answered as ``{"error": message, "status": status}`` with HTTP ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
