"""The store sink: a whole dataset's maps in ONE chunked, compressed Zarr (v3) store.

Layout (a Zarr group; every array names its dimensions, so ``xarray.open_zarr(path)`` reads it as a
Dataset with coordinates):

* ``maps`` (item, method, rank, y, x): float16 (or float32) maps in [0, 1] at the model's input grid,
  chunked by whole items;
* coordinates ``item`` (ids), ``method`` (registry names), ``rank`` (1..K);
* ``source`` (item), ``height``/``width`` (item): the input and its own size (``netloupe render``
  resizes maps back to it);
* ``class_index``, ``label``, ``probability`` (item, rank): the predictions;
* ``done`` (item): set after an item's maps are stored — what a resumed run skips.

Group attributes record the model, layers, methods, top-k and netloupe version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InputError
from ..items import ItemResult
from ..manifest import Record

if TYPE_CHECKING:
    from ..request import ExplainRequest

__all__ = ["STORE_VERSION", "StoreSink", "open_store"]

STORE_VERSION = 1
_CHUNK_BYTES = 4 << 20  # about 4 MB of maps per chunk


def _zarr() -> Any:
    try:
        import zarr
    except ImportError as exc:
        raise InputError("store: writing a Zarr store needs zarr>=3; pip install 'netloupe[store]'") from exc
    return zarr


def open_store(path: str | Path, mode: str = "r") -> Any:
    """Open a netloupe map store as a Zarr group (checks that it is one)."""
    zarr = _zarr()
    try:
        group = zarr.open_group(str(path), mode=mode)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise InputError(f"store: {path} is not a Zarr store ({exc})") from exc
    if group.attrs.get("netloupe_store_version") is None:
        raise InputError(f"store: {path} is a Zarr store but not one written by netloupe run --store")
    return group


class StoreSink:
    """Writes maps and predictions of every item into rows of one Zarr store (resumable by rows).

    Args:
        path: the store (a folder); created, or reopened to resume when it holds the same items.
        request: the job (methods, top-k, model, input grid).
        item_ids: every item of the dataset, in order: item ``i`` is row ``i``.
        dtype: ``"float16"`` or ``"float32"`` maps.
    """

    def __init__(
        self, path: str | Path, request: ExplainRequest, item_ids: Sequence[str], dtype: str = "float16"
    ) -> None:
        if request.grid != "input":
            raise InputError("store: maps go to a store at the model's input grid; build the request with grid='input'")
        size = request.loaded.preprocess.size
        if size is None:
            raise InputError(f"store: model {request.loaded.name!r} keeps each input's size; a store needs one grid")
        self.path = Path(path)
        self.rows = {ident: i for i, ident in enumerate(item_ids)}
        self.methods = list(request.methods)
        self.k = request.top_k if request.target is None else 1
        zarr = _zarr()
        if (self.path / "zarr.json").exists():
            self.group = open_store(self.path, mode="r+")
            self._check_same(item_ids)
        else:
            self.group = self._create(zarr, request, list(item_ids), (int(size[0]), int(size[1])), dtype)
        self.done = np.asarray(self.group["done"][:], dtype=bool)

    # -- creation / resume ---------------------------------------------------------------------------

    def _create(self, zarr: Any, request: ExplainRequest, ids: list[str], size: tuple[int, int], dtype: str) -> Any:
        from ... import __version__

        n, m, k = len(ids), len(self.methods), self.k
        per_item = k * size[0] * size[1] * np.dtype(dtype).itemsize
        chunk = int(max(1, min(n, _CHUNK_BYTES // max(1, per_item))))
        group = zarr.open_group(str(self.path), mode="w")
        group.attrs.update(
            {
                "netloupe_store_version": STORE_VERSION,
                "netloupe_version": __version__,
                "model": request.loaded.name,
                "methods": self.methods,
                "top_k": k,
                "layers": [] if request.layer_name is None else [request.layer_name],
                "grid": list(size),
            }
        )

        def array(
            name: str, shape: tuple[int, ...], dt: Any, dims: list[str], chunks: tuple[int, ...], fill: Any
        ) -> Any:
            return group.create_array(name, shape=shape, chunks=chunks, dtype=dt, dimension_names=dims, fill_value=fill)

        array("maps", (n, m, k, *size), dtype, ["item", "method", "rank", "y", "x"], (chunk, 1, k, *size), 0)
        array("item", (n,), str, ["item"], (max(1, n),), "")[:] = np.asarray(ids, dtype=object)
        array("method", (m,), str, ["method"], (m,), "")[:] = np.asarray(self.methods, dtype=object)
        array("rank", (k,), "int32", ["rank"], (k,), 0)[:] = np.arange(1, k + 1, dtype=np.int32)
        row_chunk = (max(1, min(n, 4096)),)
        array("source", (n,), str, ["item"], row_chunk, "")
        array("height", (n,), "int32", ["item"], row_chunk, 0)
        array("width", (n,), "int32", ["item"], row_chunk, 0)
        array("class_index", (n, k), "int32", ["item", "rank"], (row_chunk[0], k), -1)
        array("label", (n, k), str, ["item", "rank"], (row_chunk[0], k), "")
        array("probability", (n, k), "float32", ["item", "rank"], (row_chunk[0], k), float("nan"))
        array("done", (n,), "bool", ["item"], row_chunk, False)
        return group

    def _check_same(self, ids: Sequence[str]) -> None:
        stored = [str(s) for s in self.group["item"][:]]
        if stored != list(ids) or list(self.group.attrs.get("methods", [])) != self.methods:
            raise InputError(
                f"store: {self.path} holds another dataset or other methods; choose another --store to start anew"
            )

    # -- the sink --------------------------------------------------------------------------------------

    def has(self, item_id: str) -> bool:
        """Whether ``item_id``'s maps are in the store."""
        row = self.rows.get(item_id)
        return row is not None and bool(self.done[row])

    def write(self, results: Sequence[ItemResult], records: Mapping[str, Record]) -> None:
        if not results:
            return
        rows = np.asarray([self.rows[r.id] for r in results])
        order = np.argsort(rows)
        rows = rows[order]
        ordered = [results[i] for i in order]
        maps = np.stack([np.stack([r.maps[m] for m in self.methods]) for r in ordered])
        grid = [r.item.grid for r in ordered]
        columns: dict[str, np.ndarray] = {
            "maps": maps.astype(self.group["maps"].dtype, copy=False),
            "source": np.asarray([r.item.source for r in ordered], dtype=object),
            "height": np.asarray([g[0] for g in grid], dtype=np.int32),
            "width": np.asarray([g[-1] for g in grid], dtype=np.int32),
            "class_index": np.asarray([r.class_ids for r in ordered], dtype=np.int32),
            "label": np.asarray([r.labels for r in ordered], dtype=object),
            "probability": np.asarray([r.probabilities for r in ordered], dtype=np.float32),
        }
        for start, stop in _runs(rows):
            part = slice(int(np.searchsorted(rows, start)), int(np.searchsorted(rows, stop - 1)) + 1)
            for name, values in columns.items():
                self.group[name][start:stop] = values[part]
        for start, stop in _runs(rows):  # marked done only after every column is stored
            self.group["done"][start:stop] = True
        self.done[rows] = True
        for r, row in zip(ordered, rows, strict=True):
            record = records[r.id]
            record["store_row"] = int(row)
            for entry in record["maps"]:
                entry["store"] = {
                    "item": int(row),
                    "method": self.methods.index(entry["method"]),
                    "rank": entry["rank"],
                }

    def close(self) -> None:
        """Consolidate the metadata (one read opens the whole store: ``xarray.open_zarr`` asks for it)."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr notes that consolidated metadata is not in the v3 spec yet
            _zarr().consolidate_metadata(str(self.path))


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Sorted row indices as ``[start, stop)`` runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    start = prev = int(rows[0])
    for r in rows[1:]:
        r = int(r)
        if r != prev + 1:
            runs.append((start, prev + 1))
            start = r
        prev = r
    runs.append((start, prev + 1))
    return runs
