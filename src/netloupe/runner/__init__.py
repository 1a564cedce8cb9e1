"""Dataset-scale jobs: resumable runs of the explain job, on the local backend or on Ray Data.

>>> from netloupe.runner import run_dataset  # doctest: +SKIP
>>> summary = run_dataset("photos/", netloupe.load_model(), ["gradcam"], out="run-out")  # doctest: +SKIP
"""

from __future__ import annotations

from ..pipeline.run import StopFlag
from .backend import Backend, BackendJob
from .items import DatasetItem, discover_items
from .job import RunSummary, run_dataset

__all__ = ["Backend", "BackendJob", "DatasetItem", "RunSummary", "StopFlag", "discover_items", "run_dataset"]
