"""Dataset-scale jobs: a batched, resumable pipeline on one machine, and a Ray Data backend for many.

>>> from netloupe.runner import run_dataset  # doctest: +SKIP
>>> summary = run_dataset("photos/", netloupe.load_model(), ["gradcam"], out="run-out")  # doctest: +SKIP
"""

from __future__ import annotations

from .items import DatasetItem, discover_items
from .job import RunSummary, StopFlag, run_dataset
from .process import BatchProcessor, overlay_batch

__all__ = [
    "BatchProcessor",
    "DatasetItem",
    "RunSummary",
    "StopFlag",
    "discover_items",
    "overlay_batch",
    "run_dataset",
]
