"""Helpers for demo sections that show recorded (not freshly computed) results from package data."""

from __future__ import annotations

import base64
import html
from datetime import datetime
from importlib.resources.abc import Traversable

__all__ = ["recorded_note", "resource_data_uri"]


def recorded_note(where: str, when: str, reproduce: str) -> str:
    """A note saying that the numbers below were measured earlier, where and when, and how to remeasure.

    Args:
        where: the machine (``"AMD EPYC (2 cores), torch 2.14.1, 2 threads"``).
        when: an ISO date or date-time (shown as ``YYYY-MM-DD HH:MM UTC`` when it parses).
        reproduce: the command that measures them again.
    """
    try:
        stamp = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        stamp = when
    return (
        "<p class='note recorded'><b>Recorded, not measured now:</b> measured on "
        f"{html.escape(where)} on {html.escape(stamp)}; this report shows the stored numbers. To measure on "
        f"this machine: <span class='mono'>{html.escape(reproduce)}</span>.</p>"
    )


def resource_data_uri(resource: Traversable) -> str:
    """A PNG shipped as package data, as a ``data:`` URI (its bytes as they are)."""
    return "data:image/png;base64," + base64.b64encode(resource.read_bytes()).decode("ascii")
