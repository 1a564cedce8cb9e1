"""Real photographs that ship inside installed packages (scikit-image's sample data), no download."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

__all__ = ["DEMO_PHOTOS", "demo_photo"]

#: file name in skimage's data folder -> short description (public-domain / CC0 sample photos).
DEMO_PHOTOS: dict[str, str] = {
    "chelsea.png": "Chelsea the cat (scikit-image sample)",
    "coffee.png": "a cup of coffee (scikit-image sample)",
    "motorcycle_left.png": "a motorcycle (scikit-image stereo sample)",
    "rocket.jpg": "a rocket on its launch pad (scikit-image sample)",
}


def demo_photo(name: str) -> Image.Image:
    """Load one of scikit-image's bundled sample photos as RGB."""
    import skimage.data

    path = Path(skimage.data.__file__).parent / name
    with Image.open(path) as im:
        return im.convert("RGB")
