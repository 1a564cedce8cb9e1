"""Share of a map's energy inside regions: the measure behind shortcut and bias audits.

For a non-negative map ``L`` and a region ``R`` (a mask with weights in [0, 1]), the energy share is

    share(L, R) = sum_x R(x) * L(x) / sum_x L(x),

the "energy-based pointing game" proportion of Score-CAM (Wang et al., 2020, section 5.2), here for any
region: a lesion box, a segmentation mask, the image borders or corners, a suspected marker. A map spread
uniformly gives ``share = area(R) / area(image)``; the *concentration* ``share / area_fraction`` is 1 then,
and much larger when the map piles its energy into the region.

All functions are pure, batched and stay in torch on the maps' device. Regions are built for any number
of spatial dimensions (2-D images, 3-D volumes).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..errors import InputError

__all__ = [
    "area_fraction",
    "border_mask",
    "box_mask",
    "corner_mask",
    "energy_share",
]


def energy_share(maps: Tensor, regions: Tensor, spatial: int | None = None, relu: bool = True) -> Tensor:
    """``sum(R * L) / sum(L)`` over the trailing ``spatial`` dims.

    Args:
        maps: ``(..., *spatial)`` maps (e.g. ``(N, K, H, W)``).
        regions: ``(*spatial)``, or a batch that broadcasts against ``maps`` (e.g. ``(N, 1, H, W)`` per
            sample); bool or float weights in [0, 1].
        spatial: number of trailing spatial dims (default: ``regions.ndim``, which must then be <= 3).
        relu: clip negative map values to 0 first (a share of a signed map is not meaningful); when False,
            negative values are an error.

    Returns:
        ``maps.shape[:-spatial]`` (broadcast with the regions' leading dims) shares in [0, 1]; NaN where a
        map has no energy at all.
    """
    if spatial is None:
        if regions.ndim > 3:
            raise InputError(f"spatial: regions of shape {tuple(regions.shape)} need spatial=2 or 3 to be given")
        spatial = regions.ndim
    if not 1 <= spatial <= min(maps.ndim, regions.ndim):
        raise InputError(f"spatial: expected 1..{min(maps.ndim, regions.ndim)} trailing dims, got {spatial}")
    if tuple(maps.shape[-spatial:]) != tuple(regions.shape[-spatial:]):
        raise InputError(
            f"regions: spatial shape {tuple(regions.shape[-spatial:])} differs from the maps' "
            f"{tuple(maps.shape[-spatial:])}"
        )
    if not relu and bool((maps < 0).any()):
        raise InputError("maps: energy shares need non-negative maps (pass relu=True to clip)")
    L = maps.clamp_min(0) if relu else maps
    R = regions.to(device=maps.device, dtype=L.dtype)
    dims = tuple(range(-spatial, 0))
    total = L.sum(dim=dims)
    inside = (L * R).sum(dim=dims)
    nan = torch.full_like(inside, float("nan"))
    return torch.where(total > 0, inside / torch.where(total > 0, total, torch.ones_like(total)), nan)


def area_fraction(regions: Tensor, spatial: int | None = None) -> Tensor:
    """Mean region weight over the trailing ``spatial`` dims (default: all dims, up to 3)."""
    spatial = min(regions.ndim, 3) if spatial is None else spatial
    return regions.float().mean(dim=tuple(range(-spatial, 0)))


def box_mask(shape: Sequence[int], boxes: Tensor | Sequence[Sequence[float]]) -> Tensor:
    """Boolean masks ``(B, H, W)`` of boxes ``(B, 4)`` given as ``(x0, y0, x1, y1)`` pixels, end exclusive.

    Fractional corners are rounded to the nearest pixel edge; boxes are clipped to the image.
    """
    if len(shape) != 2:
        raise InputError(f"shape: boxes need a 2-D (H, W) shape, got {tuple(shape)}")
    b = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4).round()
    h, w = int(shape[0]), int(shape[1])
    if bool((b[:, 2] < b[:, 0]).any() | (b[:, 3] < b[:, 1]).any()):
        raise InputError(f"boxes: expected x0 <= x1 and y0 <= y1, got {b.tolist()}")
    ys = torch.arange(h, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, dtype=torch.float32)[None, None, :]
    x0, y0, x1, y1 = (b[:, i, None, None] for i in range(4))
    return (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)


def border_mask(shape: Sequence[int], width: int) -> Tensor:
    """Boolean mask of the voxels within ``width`` of any edge, for a 1-, 2- or 3-D ``shape``."""
    if width < 1:
        raise InputError(f"width: border width must be >= 1 pixel, got {width}")
    mask = torch.zeros(tuple(int(s) for s in shape), dtype=torch.bool)
    for axis, size in enumerate(mask.shape):
        idx = torch.arange(size)
        edge = (idx < width) | (idx >= size - width)
        view = [1] * mask.ndim
        view[axis] = size
        mask |= edge.reshape(view)
    return mask


def corner_mask(shape: Sequence[int], size: int, corners: Sequence[str] = ("tl", "tr", "bl", "br")) -> Tensor:
    """Boolean mask ``(H, W)`` of ``size`` x ``size`` squares in the chosen corners (tl, tr, bl, br)."""
    if len(shape) != 2:
        raise InputError(f"shape: corners need a 2-D (H, W) shape, got {tuple(shape)}")
    h, w = int(shape[0]), int(shape[1])
    if size < 1:
        raise InputError(f"size: corner size must be >= 1 pixel, got {size}")
    mask = torch.zeros(h, w, dtype=torch.bool)
    for corner in corners:
        if corner not in ("tl", "tr", "bl", "br"):
            raise InputError(f"corners: expected tl, tr, bl or br, got {corner!r}")
        rows = slice(0, size) if corner[0] == "t" else slice(max(h - size, 0), h)
        cols = slice(0, size) if corner[1] == "l" else slice(max(w - size, 0), w)
        mask[rows, cols] = True
    return mask
