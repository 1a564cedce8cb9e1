"""The batched core: items in, maps (and overlays) out, one shared pass per batch.

For each batch the engine computes raw layer-resolution maps for every method and explained class at
once; then each group of items that share a grid gets ONE resize straight to that grid (no detour via
the model's input size), one normalisation and, when asked, the colour overlays — all on the model's
device, so that only encoding and writing are left to the sinks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from ..cam._passes import CancelFlag, OnPass
from ..cam.engine import Explainer, Explanation, maps_at_size
from ..errors import Cancelled, NetloupeError
from ..viz.overlay import overlay_batch
from .items import Item, ItemFailure, ItemResult, one_line
from .request import ExplainRequest

__all__ = ["ExplainCore", "SystematicFailure"]


class SystematicFailure(NetloupeError):
    """Every item of the first batch failed the same way: a bad option, not a bad item."""


class ExplainCore:
    """Holds the model on its device and the :class:`Explainer`; explains batches of items.

    Args:
        request: what to compute (see :func:`netloupe.pipeline.build_request`).
        on_pass: ``on_pass(done, total)`` after each batch of a perturbation method's extra passes.
        cancel: a flag (``threading.Event`` or callable) checked between batches of extra passes; when set
            the engine raises :class:`~netloupe.errors.Cancelled`, which stops the job (never an item failure).
    """

    def __init__(
        self, request: ExplainRequest, on_pass: OnPass | None = None, cancel: CancelFlag | None = None
    ) -> None:
        self.request = request
        self.device = request.device
        model = request.loaded.model.to(self.device)
        if request.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model  # a torch.compile'd model is explained through its eager module (cam.unwrap_compiled)
        self.explainer = Explainer(
            self.model,
            request.layer,
            class_names=request.loaded.class_names or None,
            output=request.output,
            reshape=request.layout,
        )
        self.on_pass = on_pass
        self.cancel = cancel
        self.layer_info: list[dict[str, object]] = []  # layout, grid and why, per target layer
        self.layers: list[str] = []

    def _pass(self, tensors: Sequence[Tensor]) -> Explanation:
        x = torch.stack(list(tensors)).to(self.device, non_blocking=True)
        if self.request.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        res = self.explainer.explain(
            x,
            list(self.request.methods),
            self.request.targets,
            upsample=False,
            normalize=False,
            on_pass=self.on_pass,
            cancel=self.cancel,
        )
        self.layers = [name.removeprefix("_orig_mod.") for name in res.layers]
        self.layer_info = [info.as_dict() for info in res.layer_info]
        return res

    def explain(self, items: Sequence[Item]) -> list[ItemResult]:
        """Explain ``items`` (one pass per group of equal tensor shapes); results in the same order."""
        shapes: dict[tuple[int, ...], list[int]] = {}
        for i, item in enumerate(items):
            shapes.setdefault(tuple(item.tensor.shape), []).append(i)
        results: list[ItemResult | None] = [None] * len(items)
        for rows in shapes.values():
            group = [items[i] for i in rows]
            for i, res in zip(rows, self._explain_group(group), strict=True):
                results[i] = res
        return [r for r in results if r is not None]

    def _explain_group(self, items: Sequence[Item]) -> list[ItemResult]:
        res = self._pass([it.tensor for it in items])
        probs = res.target_probabilities().cpu().tolist()
        scores = res.scores.float().cpu().tolist()
        labels = res.labels()
        n, k = res.scores.shape
        ids = res.class_ids.cpu().tolist() if res.class_ids is not None else [[-1] * k for _ in range(n)]
        input_grid = tuple(int(s) for s in items[0].tensor.shape[1:])
        grids: dict[tuple[int, ...], list[int]] = {}
        for row, item in enumerate(items):
            grid = input_grid if self.request.grid == "input" else item.grid
            grids.setdefault(grid, []).append(row)
        maps: list[dict[str, np.ndarray]] = [{} for _ in items]
        overlays: list[dict[str, np.ndarray]] = [{} for _ in items]
        for grid, rows in grids.items():
            sel = torch.tensor(rows, device=res.scores.device)
            draw = self.request.overlays and all(
                items[r].display is not None and tuple(items[r].display.shape[:2]) == grid  # type: ignore[union-attr]
                for r in rows
            )
            # The pictures go to the device once per group, not once per method.
            originals = (
                torch.stack([items[r].display for r in rows]).to(res.scores.device, non_blocking=True)  # type: ignore[misc]
                if draw
                else None
            )
            for name, m in res.maps.items():
                resized = maps_at_size(m.index_select(0, sel.to(m.device)), grid)
                host = resized.cpu().numpy().astype(np.float32, copy=False)
                drawn = None
                if originals is not None:
                    drawn = overlay_batch(originals, resized).cpu().numpy()
                for j, r in enumerate(rows):
                    maps[r][name] = host[j]
                    if drawn is not None:
                        overlays[r][name] = drawn[j]
        return [
            ItemResult(
                item=item,
                class_ids=[int(c) for c in ids[r]],
                labels=labels[r],
                probabilities=[float(p) for p in probs[r]],
                maps=maps[r],
                overlays=overlays[r],
                layers=list(self.layers),
                scores=[float(v) for v in scores[r]],
            )
            for r, item in enumerate(items)
        ]

    def explain_isolated(
        self, items: Sequence[Item], first: bool = False
    ) -> tuple[list[ItemResult], list[ItemFailure]]:
        """:meth:`explain`, isolating an item that makes the batch fail.

        When the batch fails, its items are retried one by one and those that still fail become
        :class:`ItemFailure` s. If ``first`` (nothing has succeeded yet) and every item fails, the error is
        raised as :class:`SystematicFailure`: the job, not an item, is broken.
        """
        if not items:
            return [], []
        try:
            return self.explain(items), []
        except Cancelled:
            raise
        except Exception as batch_exc:
            if len(items) == 1 and first:
                raise _systematic(batch_exc) from batch_exc
            results: list[ItemResult] = []
            failures: list[ItemFailure] = []
            for item in items:
                try:
                    results += self.explain([item])
                except Cancelled:
                    raise
                except Exception as exc:
                    failures.append(ItemFailure(item.id, item.source, one_line(exc)))
            if first and not results:
                raise _systematic(batch_exc) from batch_exc
            return results, failures


def _systematic(exc: BaseException) -> BaseException:
    if isinstance(exc, NetloupeError):
        return exc  # already one clear line (bad layer, target, method...)
    return SystematicFailure(f"every item of the first batch failed, so the job itself is broken: {one_line(exc)}")
