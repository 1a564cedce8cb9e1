"""The explain job end to end, for files, PIL images and DICOM/NIfTI — what every front end calls.

>>> import netloupe
>>> from PIL import Image
>>> from netloupe.pipeline import build_request, explain_images
>>> loaded = netloupe.load_model()  # doctest: +SKIP
>>> run = explain_images([Image.new("RGB", (64, 48))], loaded, ["gradcam"], top_k=2)  # doctest: +SKIP
>>> run.results[0].maps["gradcam"].shape  # doctest: +SKIP
(2, 48, 64)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from .._typing import LayersSpec, PathLikeStr
from ..cam._passes import CancelFlag, OnPass
from ..models.zoo import LoadedModel
from ..targets import TargetSpec
from .core import ExplainCore
from .items import Item, ItemFailure, ItemResult
from .manifest import Record, build_manifest, done_record, write_manifest
from .request import AUTO, ExplainRequest, build_request
from .run import JobStats, OnProgress, StopFlag, run_batches
from .sinks import FolderSink, MemorySink, NiftiSink, Sink
from .sinks.folder import OverlayPolicy
from .sources import MedicalOptions, Reader, decode, file_ids, image_item

__all__ = ["ExplainRun", "explain_files", "explain_images", "explain_to_folder", "save_results"]


@dataclass
class ExplainRun:
    """Results kept in memory (maps at each item's own grid); :meth:`save` writes them like ``explain``."""

    request: ExplainRequest
    results: list[ItemResult]
    layers: list[str]
    failed: list[Record] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return list(self.request.methods)

    @property
    def model_name(self) -> str:
        return self.request.loaded.name

    def save(self, out_dir: PathLikeStr, figures: bool = True) -> Path:
        """Write overlays, arrays, NIfTI maps and the manifest under ``out_dir``; returns the manifest path."""
        return save_results(self.request, self.results, self.layers, out_dir, figures=figures, failed=self.failed)


def _chunks(entries: Sequence[tuple[str, str]], reader: Reader, size: int) -> Iterator[list[Item | ItemFailure]]:
    for start in range(0, len(entries), size):
        yield [decode(reader, source, ident) for source, ident in entries[start : start + size]]


def explain_files(
    sources: Sequence[PathLikeStr],
    request: ExplainRequest,
    sinks: Sequence[Sink],
    *,
    medical: MedicalOptions = MedicalOptions(),
    on_progress: OnProgress | None = None,
    stop: StopFlag | None = None,
    on_pass: OnPass | None = None,
    cancel: CancelFlag | None = None,
) -> JobStats:
    """Explain files of any supported kind into ``sinks`` (closed at the end); bad files are recorded.

    ``on_pass`` and ``cancel`` go to the core (:class:`~netloupe.pipeline.core.ExplainCore`).
    """
    paths = [str(s) for s in sources]
    reader = Reader(request.loaded.preprocess, request.loaded.input_kind, medical)
    entries = list(zip(paths, file_ids(paths), strict=True))
    try:
        core = ExplainCore(request, on_pass, cancel)
        return run_batches(
            core, _chunks(entries, reader, request.batch_size), sinks, on_progress=on_progress, stop=stop
        )
    finally:
        for sink in sinks:
            sink.close()


def _manifest(
    request: ExplainRequest,
    layers: list[str],
    records: Sequence[Record],
    pending: int,
    layer_info: Sequence[dict[str, object]] = (),
) -> dict[str, object]:
    return build_manifest(
        kind="explain",
        model=request.loaded.name,
        layers=layers,
        methods=request.methods,
        top_k=request.top_k,
        target=request.target,
        records=records,
        pending=pending,
        extra=_extra(request, layer_info),
    )


def _extra(request: ExplainRequest, layer_info: Sequence[dict[str, object]]) -> dict[str, object] | None:
    extra: dict[str, object] = {}
    if request.method_reason:
        extra["method_reason"] = request.method_reason
    if layer_info:
        extra["layer_info"] = list(layer_info)
    return extra or None


def explain_to_folder(
    sources: Sequence[PathLikeStr],
    request: ExplainRequest,
    out_dir: PathLikeStr,
    *,
    figures: bool = True,
    overlays: OverlayPolicy = "all",
    medical: MedicalOptions = MedicalOptions(),
    on_progress: OnProgress | None = None,
    writers: int = 1,
    on_pass: OnPass | None = None,
) -> tuple[Path | None, JobStats]:
    """``netloupe explain``: files in, ``out_dir/<id>/...`` and ``manifest.json`` out.

    The manifest is written last, also when the run fails part-way (then ``"complete": false``): every
    file it lists is complete. When no input could be explained nothing is written and the manifest
    path is None. Returns the manifest's path and the run's statistics.
    """
    out = Path(out_dir)
    sinks: list[Sink] = [FolderSink(out, overlays=overlays, figures=figures, writers=writers), NiftiSink(out)]
    stats = JobStats()
    manifest: Path | None = None
    try:
        stats = explain_files(sources, request, sinks, medical=medical, on_progress=on_progress, on_pass=on_pass)
    finally:
        if stats.done:
            pending = len(sources) - len(stats.records)
            manifest = write_manifest(out, _manifest(request, stats.layers, stats.records, pending, stats.layer_info))
    return manifest, stats


def save_results(
    request: ExplainRequest,
    results: Sequence[ItemResult],
    layers: list[str],
    out_dir: PathLikeStr,
    *,
    figures: bool = True,
    failed: Sequence[Record] = (),
) -> Path:
    """Write already computed results through the folder and NIfTI sinks, then the manifest."""
    out = Path(out_dir)
    records = {r.id: done_record(r) for r in results}
    sinks: list[Sink] = [FolderSink(out, figures=figures), NiftiSink(out)]
    try:
        for sink in sinks:
            sink.write(list(results), records)
    finally:
        for sink in sinks:
            sink.close()
    return write_manifest(out, _manifest(request, layers, [*records.values(), *failed], 0))


def explain_images(
    sources: Sequence[PathLikeStr | Image.Image],
    loaded: LoadedModel,
    methods: Sequence[str] = (AUTO,),
    top_k: int | None = None,
    target: TargetSpec = None,
    layer: LayersSpec = None,
    device: str | torch.device = "cpu",
    batch_size: int = 8,
    on_progress: OnProgress | None = None,
    cancel: CancelFlag | None = None,
) -> ExplainRun:
    """Explain image files (any supported kind) or PIL images; results stay in memory.

    Maps are at each input's own grid (a photo's size; a DICOM/NIfTI slice or volume grid). Inputs
    that cannot be read or explained are listed in ``failed``.

    Args:
        sources: paths or PIL images.
        loaded: a model from :func:`netloupe.load_model`.
        methods: registry names; all share one pass per batch. ``("auto",)``: see :func:`build_request`.
        top_k: explain the k most probable classes (None: three, or all of a smaller model's classes).
        target: a class index or name to explain instead of the top-k.
        layer: target layer (default: the model's recommended layer, else automatic).
        device: where to run.
        batch_size: inputs per pass.
        on_progress: called with the number of inputs finished after each batch.
        cancel: a flag that stops the work between batches of extra passes (raises ``Cancelled``).
    """
    request = build_request(
        loaded, methods, top_k=top_k, target=target, layer=layer, device=device, batch_size=batch_size
    )
    memory = MemorySink()
    pictures = [s for s in sources if isinstance(s, Image.Image)]
    if len(pictures) == len(sources):
        items: list[Item | ItemFailure] = [
            image_item(im, f"image{i}", loaded.preprocess) for i, im in enumerate(pictures)
        ]
        core = ExplainCore(request, cancel=cancel)
        batches = (items[i : i + batch_size] for i in range(0, len(items), batch_size))
        stats = run_batches(core, batches, [memory], on_progress=on_progress)
    else:
        paths = [s if not isinstance(s, Image.Image) else "" for s in sources]
        if any(not p for p in paths):
            raise TypeError("sources: give either paths or PIL images, not a mix")
        stats = explain_files(paths, request, [memory], on_progress=on_progress, cancel=cancel)
    return ExplainRun(request, memory.results, stats.layers, stats.failed)
