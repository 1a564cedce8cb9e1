"""Start-up settings of the web app (immutable; one per app instance)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..models.zoo import LoadedModel

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """What the app serves and its safety limits.

    Attributes:
        host: interface to bind (``127.0.0.1`` by default: only this machine can connect).
        port: TCP port.
        models: zoo names to serve (None: every zoo model); the first one is the page's default.
        model_dir: a folder named at start-up holding state dicts with their architecture: each
            ``NAME.json`` (``{"arch": "resnet18", "class_names": [...], "checkpoint": "NAME.pth"}``; the
            checkpoint defaults to ``NAME.pth`` or ``NAME.pt`` beside it) is served as ``NAME``. Weights are read
            with ``torch.load(weights_only=True)``; TorchScript cannot be explained (no hooks) and is refused.
            Nothing else on disk is ever loaded.
        extra_models: name -> builder of a :class:`LoadedModel` (tests and embedding applications).
        text_models: name -> ``fn(text) -> dict`` for the sequence page (tests; otherwise the shipped
            sequence models are discovered when :mod:`netloupe.sequence` provides them).
        max_upload_bytes: request bodies larger than this are refused with 413.
        max_pixels: decoded images larger than this (width x height) are refused with 413, read from the
            header before decoding.
        max_voxels: DICOM (rows x columns x frames x samples) and NIfTI (the voxels of the volume read) larger
            than this are refused with 413, read from the header before decoding. Reading costs about 30 bytes
            per voxel (modality values, display values, the slice), so the default bounds one upload's decoding
            to about 500 MB.
        max_side: images are scaled down so that their longer side is at most this many pixels before
            explaining (the maps are at this working resolution).
        request_timeout_s: an explanation that waits for its model or runs longer than this gets 503; its work
            is cancelled at the next layer call, so the model's lock comes back.
        max_concurrent: heavy requests (decoding an upload, explaining) running at once.
        max_queued: heavy requests waiting for a slot; more than this get 503 at once.
        max_top_k: the largest ``top_k`` accepted.
        max_methods: the most methods one request may ask for.
        cache_inputs: uploads kept in memory (so that a slice or window change needs no re-upload).
        cache_results: explanation results kept in memory for the heatmap and download endpoints.
        device: torch device for the models.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    models: tuple[str, ...] | None = None
    model_dir: Path | None = None
    extra_models: Mapping[str, Callable[[], LoadedModel]] = field(default_factory=dict)
    text_models: Mapping[str, Callable[[str], dict[str, object]]] | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_voxels: int = 16_777_216
    max_side: int = 1024
    request_timeout_s: float = 60.0
    max_concurrent: int = 2
    max_queued: int = 16
    max_top_k: int = 10
    max_methods: int = 4
    cache_inputs: int = 8
    cache_results: int = 32
    device: str = "cpu"
