"""The one manifest schema (``manifest.json``), its records and its only writer; reads older versions.

Version 2 (this one) serves every front end: ``netloupe explain`` (``kind: "explain"``), dataset runs
(``kind: "dataset-run"``) and the web app's download. Version 1 (``images`` instead of ``items``; no
``kind`` for ``explain``) is read by :func:`read_manifest` and upgraded in memory. See docs/manifest.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError
from ..io.atomic import atomic_write_json
from .items import ItemFailure, ItemResult

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "Record",
    "build_manifest",
    "done_record",
    "failed_record",
    "read_manifest",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 2
Record = dict[str, Any]
Kind = Literal["explain", "dataset-run"]


def done_record(result: ItemResult) -> Record:
    """An explained item's record; sinks add the files they write (``maps`` entries, ``nifti``, ...)."""
    item = result.item
    record: Record = {"id": item.id, "source": item.source, "status": "done"}
    if item.label:
        record["label"] = item.label
    grid = item.grid
    if len(grid) == 2:
        record["height"], record["width"] = grid
    record["grid"] = list(grid)
    record["predictions"] = result.predictions()
    record["maps"] = [
        {"method": method, "rank": k + 1, "class_index": c, "label": lab, "layer": list(result.layers)}
        for method in result.maps
        for k, (c, lab) in enumerate(zip(result.class_ids, result.labels, strict=True))
    ]
    if item.meta:
        record["input"] = dict(item.meta)
    return record


def failed_record(failure: ItemFailure) -> Record:
    """The record of an item that could not be explained (one-line ``reason``)."""
    return {"id": failure.id, "source": failure.source, "status": "failed", "reason": failure.reason}


def build_manifest(
    *,
    kind: Kind,
    model: str,
    layers: Sequence[str],
    methods: Sequence[str],
    top_k: int,
    target: object,
    records: Sequence[Mapping[str, Any]],
    pending: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of a run from its records (latest record per item, in the run's order)."""
    from .. import __version__

    items = [{k: v for k, v in r.items() if k != "status"} for r in records if r.get("status") == "done"]
    failed = [{k: r.get(k, "") for k in ("id", "source", "reason")} for r in records if r.get("status") != "done"]
    return {
        "netloupe_version": __version__,
        "manifest_version": MANIFEST_VERSION,
        "kind": kind,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model,
        "layers": list(layers),
        "methods": list(methods),
        "top_k": top_k,
        "target": None if target is None else str(target),
        **(dict(extra) if extra else {}),
        "complete": pending == 0,
        "counts": {
            "items": len(items) + len(failed) + pending,
            "done": len(items),
            "failed": len(failed),
            "pending": pending,
        },
        "items": items,
        "failed": failed,
    }


def write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` atomically (the only place a manifest is written)."""
    return atomic_write_json(out_dir / MANIFEST_NAME, manifest, indent=1)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read a manifest of any version as version 2 (a folder means its ``manifest.json``).

    Raises:
        InputError: the file is missing, not JSON, or of an unknown version.
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"manifest: cannot read {p} ({exc})") from exc
    version = data.get("manifest_version") if isinstance(data, dict) else None
    if version == MANIFEST_VERSION:
        return data
    if version == 1:
        upgraded = {k: v for k, v in data.items() if k != "images"}
        upgraded["manifest_version"] = MANIFEST_VERSION
        upgraded.setdefault("kind", "explain")
        upgraded["items"] = data.get("images", [])
        upgraded.setdefault("failed", [])
        upgraded.setdefault("complete", True)
        return upgraded
    raise InputError(f"manifest: {p} has manifest_version {version!r}; this netloupe reads 1 and {MANIFEST_VERSION}")
