"""The dataset run's ``manifest.json``, rebuilt from the journal (see docs/runner.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ..io.results import MANIFEST_NAME
from .items import DatasetItem
from .journal import JobConfig

__all__ = ["MANIFEST_KIND", "files_present", "write_manifest"]

MANIFEST_KIND = "dataset-run"
MANIFEST_VERSION = 1


def files_present(out_dir: Path, record: dict[str, object]) -> bool:
    """Whether every file a ``done`` record names exists (a run re-does items whose files vanished)."""
    maps = record.get("maps")
    if not isinstance(maps, list) or not maps:
        return False
    names = {m["overlay"] for m in maps} | {m["array"] for m in maps}
    return all((out_dir / n).is_file() for n in names)


def write_manifest(
    out_dir: Path,
    items: Sequence[DatasetItem],
    records: dict[str, dict[str, object]],
    config: JobConfig,
    layers: list[str],
    dataset: str,
) -> Path:
    """Write ``manifest.json`` atomically from the latest journal records of ``items``."""
    from .. import __version__

    images, failed, pending = [], [], 0
    for item in items:
        rec = records.get(item.id)
        if rec is None or (rec.get("status") == "done" and not files_present(out_dir, rec)):
            pending += 1
        elif rec.get("status") == "done":
            images.append({k: v for k, v in rec.items() if k != "status"})
            if not layers:
                layers = list(rec["maps"][0]["layer"])  # type: ignore[index]
        else:
            failed.append({"id": item.id, "source": item.source, "reason": rec.get("reason", "")})
    manifest = {
        "netloupe_version": __version__,
        "manifest_version": MANIFEST_VERSION,
        "kind": MANIFEST_KIND,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": config.model,
        "layers": layers,
        "methods": config.methods,
        "top_k": config.top_k,
        "dataset": dataset,
        "complete": pending == 0,
        "counts": {"items": len(items), "done": len(images), "failed": len(failed), "pending": pending},
        "images": images,
        "failed": failed,
    }
    path = out_dir / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path
