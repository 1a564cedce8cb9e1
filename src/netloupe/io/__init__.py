"""Input and output: images, medical formats, signals; overlays, arrays and manifests."""

from .images import IMAGE_SUFFIXES, read_image

__all__ = ["IMAGE_SUFFIXES", "read_image"]
