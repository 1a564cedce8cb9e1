"""Everything one app instance holds (kept in ``app.state.netloupe``; no module-level mutable state)."""

from __future__ import annotations

from dataclasses import dataclass

from .choose import default_model
from .inputs import StoredInput
from .pool import ModelPool
from .service import WebResult
from .settings import Settings
from .store import LRUStore
from .text import TextModels

__all__ = ["AppState"]


@dataclass
class AppState:
    settings: Settings
    pool: ModelPool
    text: TextModels
    inputs: LRUStore[StoredInput]
    results: LRUStore[WebResult]
    default_model: str = ""

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        pool = ModelPool(settings)
        return cls(
            settings,
            pool,
            TextModels(settings.text_models),
            LRUStore(settings.cache_inputs),
            LRUStore(settings.cache_results),
            default_model(settings, pool.names),
        )
