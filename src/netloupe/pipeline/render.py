"""Draw overlays from a map store after the fact (``netloupe render STORE``).

A dataset run into a Zarr store (``netloupe run --store``) keeps the maps at the model's input grid and
no pictures. :func:`render_store` reads the rows asked for, resizes each map back to its input's own
size, and writes the same overlay PNGs a folder run writes (``<out>/<id>/<method>_top<k>_<label>.png``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..cam.engine import maps_at_size
from ..errors import InputError
from ..io.images import read_image
from ..viz.overlay import overlay_batch
from .sinks.folder import label_slug, write_png
from .sinks.store import open_store

__all__ = ["render_store"]


def render_store(
    store: str | Path,
    out_dir: str | Path,
    *,
    ids: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write overlay PNGs for the stored items ``ids`` (default: every finished item, up to ``limit``).

    Raises:
        InputError: not a netloupe store, unknown ids or methods.
    """
    group = open_store(store)
    all_ids = [str(s) for s in group["item"][:]]
    done = np.asarray(group["done"][:], dtype=bool)
    stored_methods = [str(m) for m in group["method"][:]]
    chosen = list(methods) if methods else stored_methods
    unknown = [m for m in chosen if m not in stored_methods]
    if unknown:
        raise InputError(f"methods: {', '.join(unknown)} not in the store; it has {', '.join(stored_methods)}")
    rows_by_id = {ident: i for i, ident in enumerate(all_ids)}
    if ids:
        missing = [i for i in ids if i not in rows_by_id]
        if missing:
            raise InputError(
                f"ids: {missing[0]!r} is not in the store"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
        rows = [rows_by_id[i] for i in ids if done[rows_by_id[i]]]
    else:
        rows = [i for i in range(len(all_ids)) if done[i]]
    if limit is not None:
        rows = rows[:limit]
    out = Path(out_dir)
    written: list[Path] = []
    sources = group["source"]
    labels = group["label"]
    maps = group["maps"]
    method_index = [stored_methods.index(m) for m in chosen]
    for row in rows:
        image = read_image(str(sources[row]))
        rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())
        stored = torch.from_numpy(np.asarray(maps[row], dtype=np.float32))  # (method, rank, h, w)
        folder = out / all_ids[row]
        folder.mkdir(parents=True, exist_ok=True)
        for m, mi in zip(chosen, method_index, strict=True):
            resized = maps_at_size(stored[mi][None], (image.height, image.width))
            pictures = overlay_batch(rgb[None], resized)[0].numpy()
            for k, picture in enumerate(pictures):
                path = folder / f"{m}_top{k + 1}_{label_slug(str(labels[row, k]))}.png"
                write_png(path, picture)
                written.append(path)
        if on_progress is not None:
            on_progress(1)
    return written
