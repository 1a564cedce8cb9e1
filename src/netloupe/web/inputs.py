"""Turn an upload (or a bundled sample) into the image a model explains.

Uploads are recognised by content (:mod:`netloupe.web.sniff`), decoded from memory (photos) or through
:func:`netloupe.io.medical.read_medical` on a temporary file that is always removed (DICOM, NIfTI).
Nothing from the request becomes a path: the temporary file's name is chosen here, samples come from a
fixed table by id.
"""

from __future__ import annotations

import io
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..demo.images import DEMO_PHOTOS, demo_photo
from ._errors import ApiError
from .settings import Settings
from .sniff import UploadKind, sniff

__all__ = ["SAMPLES", "StoredInput", "decode_upload", "medical_available", "prepare_image", "sample_input"]

#: sample id -> (file in scikit-image's data folder, description). The only files the app ever opens by name.
SAMPLES: dict[str, tuple[str, str]] = {
    Path(name).stem.split("_")[0]: (name, description) for name, description in DEMO_PHOTOS.items()
}

_PHOTO_KINDS = ("png", "jpeg", "tiff")
_MEDICAL_SUFFIX = {"dicom": ".dcm", "nifti": ".nii", "nifti-gz": ".nii.gz"}


@dataclass
class StoredInput:
    """An accepted input: a decoded photo, or the raw bytes of a DICOM/NIfTI file (read per request)."""

    kind: UploadKind | str
    name: str
    image: Image.Image | None = None
    data: bytes | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _label(filename: str | None) -> str:
    """A display label from the client's file name (never used as a path)."""
    stem = Path((filename or "upload").replace("\\", "/")).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80].strip("._") or "upload"


def medical_available() -> bool:
    """Whether :mod:`netloupe.io.medical` (and its readers) can be imported."""
    try:
        from ..io.medical import read_medical  # noqa: F401
    except ImportError:
        return False
    return True


def sample_input(sample_id: str, settings: Settings) -> StoredInput:
    """A bundled sample photo by id (ids are the keys of :data:`SAMPLES`)."""
    if sample_id not in SAMPLES:
        raise ApiError(404, f"sample: unknown id {sample_id!r}; available: {', '.join(SAMPLES)}")
    file, _ = SAMPLES[sample_id]
    return StoredInput("sample", sample_id, image=_fit(demo_photo(file), settings.max_side))


def decode_upload(data: bytes, filename: str | None, settings: Settings) -> StoredInput:
    """Check and decode an upload; raises :class:`ApiError` (413/415/422) for anything unusable."""
    if not data:
        raise ApiError(422, "file: the upload is empty")
    if len(data) > settings.max_upload_bytes:
        raise ApiError(413, f"file: {len(data)} bytes is over the limit of {settings.max_upload_bytes} bytes")
    kind = sniff(data)
    label = _label(filename)
    if kind is None:
        raise ApiError(
            415,
            "file: the content is not PNG, JPEG, TIFF, DICOM or NIfTI (the type is read from the bytes, "
            "not the file name)",
        )
    if kind in _PHOTO_KINDS:
        return StoredInput(kind, label, image=_decode_photo(data, kind, settings))
    if not medical_available():
        raise ApiError(
            415,
            f"file: {kind.upper().replace('-GZ', '')} needs netloupe.io.medical, which is not installed in this "
            "server (pip install 'netloupe[medical]' with a netloupe that includes it)",
        )
    stored = StoredInput(kind, label, data=data)
    _, stored.info = medical_slice(stored, None, None, settings)  # read once now: bad files fail at upload
    return stored


def _decode_photo(data: bytes, kind: str, settings: Settings) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > settings.max_pixels:
                    raise ApiError(
                        413, f"file: {im.width}x{im.height} pixels is over the limit of {settings.max_pixels} pixels"
                    )
                im.load()
                image = im.copy()
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ApiError(413, f"file: the image is too large to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ApiError(422, f"file: the {kind.upper()} data cannot be decoded") from exc
    except Exception as exc:  # Pillow raises many types on corrupt data (OSError, SyntaxError, struct.error...)
        raise ApiError(422, f"file: the {kind.upper()} data is corrupt or truncated ({type(exc).__name__})") from exc
    return _fit(_to_display(image), settings.max_side)


def _to_display(image: Image.Image) -> Image.Image:
    if image.mode in ("L", "RGB"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return Image.fromarray(_to_uint8(np.asarray(image, dtype=np.float64)))
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ApiError(422, f"file: image mode {image.mode!r} has no RGB or grey interpretation") from exc


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return ((arr - lo) / (hi - lo) * 255.0).round().astype(np.uint8)


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    """Scale down so the longer side is at most ``max_side`` (aspect kept); small images are untouched."""
    side = max(image.size)
    if side <= max_side:
        return image
    scale = max_side / side
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def window_presets() -> list[str]:
    try:
        from ..io.windowing import WINDOW_PRESETS
    except ImportError:
        return []
    return list(WINDOW_PRESETS)


def medical_slice(
    stored: StoredInput, slice_index: int | None, window: str | None, settings: Settings
) -> tuple[Image.Image, dict[str, Any]]:
    """Read the stored DICOM/NIfTI bytes, window them, take one slice of a volume; returns (image, info).

    The reader checks the header's rows x columns x frames (DICOM) or voxel count (NIfTI) against
    ``settings.max_voxels`` before decoding anything (413 when over).
    """
    try:
        from ..io.medical import read_medical
    except ImportError as exc:
        raise ApiError(415, "file: DICOM/NIfTI needs netloupe.io.medical, which is not installed") from exc
    from ..errors import NetloupeError
    from ..io.limits import InputTooLarge

    assert stored.data is not None  # a medical StoredInput always carries its bytes
    with tempfile.TemporaryDirectory(prefix="netloupe-web-") as folder:
        path = Path(folder) / f"upload{_MEDICAL_SUFFIX[str(stored.kind)]}"
        path.write_bytes(stored.data)
        try:
            image = read_medical(path, window=window, max_voxels=settings.max_voxels)
        except InputTooLarge as exc:
            raise ApiError(
                413,
                f"file: the {stored.kind} header promises {exc.count:,} values; the limit is {exc.limit:,} "
                "(checked before decoding)",
            ) from exc
        except NetloupeError as exc:
            raise ApiError(422, _strip_path(str(exc), path)) from exc
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # third-party readers raise anything on hostile files
            raise ApiError(
                422,
                f"file: the {stored.kind} file cannot be read ({type(exc).__name__}: "
                f"{_strip_path(str(exc), path)[:200]})",
            ) from exc
    arr = np.asarray(image.display, dtype=np.float64)  # windowed / scaled to [0, 1] by netloupe.io.medical
    meta = dict(getattr(image, "meta", {}) or {})
    is_color = bool(getattr(image, "is_color", False))
    n_slices, axis = 1, None
    if arr.ndim == 3 and not is_color:
        axis = 0 if meta.get("format") == "dicom" else 2
        n_slices = arr.shape[axis]
        k = n_slices // 2 if slice_index is None else slice_index
        if not 0 <= k < n_slices:
            raise ApiError(422, f"slice: expected 0..{n_slices - 1}, got {slice_index}")
        arr = np.take(arr, k, axis=axis)
        if axis == 2:
            arr = np.flipud(arr.T)  # NIfTI (i, j) -> rows top-to-bottom = anterior-to-posterior, as viewers do
        slice_index = k
    elif arr.ndim not in (2, 3):
        raise ApiError(422, f"file: the image has {arr.ndim} dimensions; expected a 2-D image or a 3-D volume")
    elif slice_index not in (None, 0):
        raise ApiError(422, f"slice: this {stored.kind} image is 2-D (one slice, index 0), got {slice_index}")
    if arr.max() <= 1.0 and arr.min() >= 0.0:
        pixels = (arr * 255.0).round().astype(np.uint8)
    else:
        pixels = _to_uint8(arr)
    pil = _fit(Image.fromarray(np.ascontiguousarray(pixels)), settings.max_side)
    info = {
        "kind": stored.kind,
        "n_slices": n_slices,
        "slice": slice_index if n_slices > 1 else None,
        "slice_axis": axis,
        "window": window,
        "windows": window_presets() if stored.kind == "dicom" and meta.get("modality") in (None, "CT") else [],
        "modality": meta.get("modality"),
        "spacing_mm": [float(s) for s in getattr(image, "spacing", ()) or ()],
    }
    return pil, info


def _strip_path(message: str, path: Path) -> str:
    """One line, without the temporary file's location."""
    text = message.replace(str(path), "upload").replace(str(path.parent), "")
    return " ".join(text.split())


def prepare_image(
    stored: StoredInput, slice_index: int | None, window: str | None, settings: Settings
) -> tuple[Image.Image, dict[str, Any]]:
    """The image to explain for this request, plus what the page shows about the input."""
    if stored.image is not None:
        if slice_index is not None or window is not None:
            raise ApiError(422, "slice/window: apply to DICOM and NIfTI inputs only")
        return stored.image, {"kind": stored.kind, "n_slices": 1, "slice": None, "window": None, "windows": []}
    return medical_slice(stored, slice_index, window, settings)
