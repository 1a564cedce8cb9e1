"""The models the app serves: loaded lazily, cached, and each guarded by its own lock.

The CAM engine registers hooks on the model it explains, so two requests must never run the same model
at the same time; different models run in parallel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, ModelLoadError, did_you_mean
from ..models.zoo import LoadedModel, available_models, load_model
from .settings import Settings

__all__ = ["ModelPool", "ServedModel"]

_SCRIPT_SUFFIXES = (".pt", ".ts")


@dataclass
class ServedModel:
    """A loaded model and the lock that serialises its use."""

    loaded: LoadedModel
    lock: threading.Lock


class ModelPool:
    """Name -> builder, fixed at start-up; models are built on first use and kept."""

    def __init__(self, settings: Settings) -> None:
        self._builders: dict[str, Callable[[], LoadedModel]] = {}
        self._descriptions: dict[str, str] = {}
        zoo = available_models()
        names = list(settings.models) if settings.models is not None else zoo
        for name in names:
            if name in settings.extra_models:
                continue
            if name not in zoo:
                raise ModelLoadError(
                    f"models: {name!r} is not a zoo model{did_you_mean(name, zoo)}; available: {', '.join(zoo)}"
                )
            self._builders[name] = _zoo_builder(name)
            self._descriptions[name] = _zoo_description(name)
        for name, build in settings.extra_models.items():
            self._builders[name] = build
            self._descriptions[name] = "model registered by the application"
        if settings.model_dir is not None:
            self._add_dir(Path(settings.model_dir))
        if not self._builders:
            raise ModelLoadError("models: nothing to serve; name zoo models or a --model-dir with TorchScript files")
        self._device = settings.device
        self._served: dict[str, ServedModel] = {}
        self._build_lock = threading.Lock()

    def _add_dir(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ModelLoadError(f"model_dir: {folder} is not a directory")
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in _SCRIPT_SUFFIXES and path.is_file():
                name = path.stem
                if name in self._builders:
                    raise ModelLoadError(f"model_dir: {path.name} clashes with the served model {name!r}")
                self._builders[name] = _file_builder(path)
                self._descriptions[name] = f"TorchScript model {path.name} from the start-up model folder"

    @property
    def names(self) -> list[str]:
        """Served model names, the default first."""
        return list(self._builders)

    def description(self, name: str) -> str:
        return self._descriptions.get(name, "")

    def get(self, name: str) -> ServedModel:
        """The served model ``name``, built on first use (raises InputError for a name not served)."""
        if name not in self._builders:
            raise InputError(
                f"model: {name!r} is not served{did_you_mean(name, self._builders)}; "
                f"available: {', '.join(self._builders)}"
            )
        with self._build_lock:
            served = self._served.get(name)
            if served is None:
                loaded = self._builders[name]()
                loaded.model.eval().to(self._device)
                served = ServedModel(loaded, threading.Lock())
                self._served[name] = served
            return served

    def loaded_names(self) -> list[str]:
        with self._build_lock:
            return list(self._served)


def _zoo_builder(name: str) -> Callable[[], LoadedModel]:
    return lambda: load_model(name)


def _file_builder(path: Path) -> Callable[[], LoadedModel]:
    return lambda: load_model(path, trust_pickle=False)


def _zoo_description(name: str) -> str:
    from ..models import zoo

    entry = zoo._ZOO.get(name)
    return entry.description if entry is not None else ""
