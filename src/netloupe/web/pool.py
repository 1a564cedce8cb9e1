"""The models the app serves: loaded lazily, cached, and each guarded by its own lock.

The CAM engine registers hooks on the model it explains, so two requests must never run the same model
at the same time; different models run in parallel. The pool also holds the app's :class:`HeavySlots`
(how many heavy requests decode or explain at once).

A ``model_dir`` holds state dicts described by a JSON file each (``NAME.json``)::

    {"arch": "resnet18", "checkpoint": "NAME.pth", "class_names": ["cat", "dog"],
     "target_layer": "layer4", "input_size": [224, 224]}

Only ``arch`` is required: the checkpoint defaults to ``NAME.pth`` (else ``NAME.pt``) beside the JSON file
and must stay in that folder; class names default to ImageNet's for 1,000 outputs, else numbers. Weights
are read with ``torch.load(weights_only=True)`` (no code runs). TorchScript files are refused at start-up:
hooks cannot be attached to them, so they could never be explained.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, ModelLoadError, did_you_mean
from ..models.zoo import LoadedModel, available_models, load_model
from .limits import HeavySlots
from .settings import Settings

__all__ = ["ModelPool", "ServedModel"]

_WEIGHT_SUFFIXES = (".pth", ".pt")
_SPEC_KEYS = {"arch", "checkpoint", "class_names", "num_classes", "target_layer", "input_size", "description"}


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
        # By default the image page serves the image models; text and video models have their own pages.
        names = list(settings.models) if settings.models is not None else available_models("image")
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
            raise ModelLoadError("models: nothing to serve; name zoo models or a --model-dir with NAME.json files")
        self.heavy = HeavySlots(settings.max_concurrent, settings.max_queued)
        self._device = settings.device
        self._served: dict[str, ServedModel] = {}
        self._build_lock = threading.Lock()

    def _add_dir(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ModelLoadError(f"model_dir: {folder} is not a directory")
        specs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        if not specs:
            scripts = [p.name for p in folder.iterdir() if p.suffix.lower() in (".pt", ".ts", ".pth")]
            hint = (
                f" ({', '.join(sorted(scripts)[:3])} need a NAME.json naming their architecture; TorchScript "
                "cannot be explained)"
                if scripts
                else ""
            )
            raise ModelLoadError(f"model_dir: {folder} holds no NAME.json model description{hint}")
        for path in specs:
            name = path.stem
            if name in self._builders:
                raise ModelLoadError(f"model_dir: {path.name} clashes with the served model {name!r}")
            spec = _read_spec(path)
            checkpoint = _checkpoint(path, spec)
            self._builders[name] = _dir_builder(name, spec, checkpoint)
            self._descriptions[name] = str(spec.get("description") or f"{spec['arch']} weights {checkpoint.name}")

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


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"model_dir: {path.name} is not readable JSON ({exc})") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("arch"), str):
        raise ModelLoadError(f"model_dir: {path.name} must be a JSON object with an 'arch' name, e.g. 'resnet18'")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ModelLoadError(f"model_dir: {path.name} has unknown keys {unknown}; allowed: {sorted(_SPEC_KEYS)}")
    names = spec.get("class_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ModelLoadError(f"model_dir: {path.name}: class_names must be a list of strings")
    size = spec.get("input_size")
    if size is not None and not (
        isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and 8 <= v <= 4096 for v in size)
    ):
        raise ModelLoadError(f"model_dir: {path.name}: input_size must be [height, width] in 8..4096, got {size!r}")
    return spec


def _checkpoint(spec_path: Path, spec: dict[str, Any]) -> Path:
    folder = spec_path.parent
    given = spec.get("checkpoint")
    if given is not None:
        if not isinstance(given, str) or Path(given).name != given or given in ("", ".", ".."):
            raise ModelLoadError(
                f"model_dir: {spec_path.name}: checkpoint must be a file name in {folder}, got {given!r}"
            )
        candidates = [folder / given]
    else:
        candidates = [folder / f"{spec_path.stem}{s}" for s in _WEIGHT_SUFFIXES]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(p.name for p in candidates)
    raise ModelLoadError(f"model_dir: {spec_path.name} names no existing weights file (looked for {looked})")


def _dir_builder(name: str, spec: dict[str, Any], checkpoint: Path) -> Callable[[], LoadedModel]:
    def build() -> LoadedModel:
        from ..models.preprocess import ImagePreprocess

        size = spec.get("input_size")
        names = spec.get("class_names")
        loaded = load_model(
            name,
            arch=spec["arch"],
            checkpoint=checkpoint,
            num_classes=spec.get("num_classes") or (len(names) if names else None),
            class_names=names,
            preprocess=ImagePreprocess(size=(size[0], size[1])) if size else None,
        )
        loaded.name = name
        if spec.get("target_layer"):
            loaded.target_layer = str(spec["target_layer"])
        return loaded

    return build


def _zoo_description(name: str) -> str:
    from ..models import zoo

    entry = zoo._ZOO.get(name)
    return entry.description if entry is not None else ""
