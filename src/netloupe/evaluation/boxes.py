"""From maps to boxes: thresholding, connected components, component boxes and IoU.

Coordinates follow one convention everywhere in netloupe's evaluation: a box is ``(x0, y0, x1, y1)`` in
continuous pixel coordinates, where pixel ``(row i, column j)`` covers ``[j, j + 1) x [i, i + 1)``. A box
drawn around columns ``c0..c1`` and rows ``r0..r1`` (inclusive) is therefore ``(c0, r0, c1 + 1, r1 + 1)``,
and its area is ``(x1 - x0) * (y1 - y0)``. Ground-truth boxes given in pixel coordinates of the image
(as in the ImageNet boxes CSVs) use the same convention.

Two protocols turn a map into boxes:

* Zhou et al. 2016 ("Learning Deep Features for Discriminative Localization", CAM): keep the pixels
  whose value is above 20% of the map's maximum, ``M > 0.2 * max(M)``, and take the bounding box of
  the largest connected component (:func:`boxes_from_maps` with ``mode="largest"``).
* Choe et al. 2020 ("Evaluating Weakly Supervised Object Localization Methods Right", CVPR): sweep
  many thresholds over the min-max normalised map and consider the boxes of *all* connected
  components, keeping the best-matching one (``mode="all"``; see
  :class:`netloupe.evaluation.localization.MaxBoxAccumulator`).

Connected components are computed in torch (8-connectivity by default, like OpenCV's contours used by
both papers' code), batched, on the maps' device, by label propagation with pointer jumping; the
tests check them against ``scipy.ndimage.label``. The "largest" component is the one with the most
pixels (OpenCV-based code ranks contours by contour area, which differs only for ties and holes).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError

__all__ = [
    "BoxMode",
    "CCBackend",
    "box_area",
    "box_iou",
    "boxes_from_maps",
    "component_boxes",
    "connected_components",
    "mask_to_box",
    "pairwise_box_iou",
    "threshold_maps",
    "validate_boxes",
]

BoxMode = Literal["largest", "all"]
CCBackend = Literal["auto", "torch", "scipy"]


def _as_maps(maps: Tensor, name: str = "maps") -> tuple[Tensor, tuple[int, ...]]:
    if not isinstance(maps, Tensor):
        raise InputError(f"{name}: expected a torch.Tensor (..., H, W), got {type(maps).__name__}")
    if maps.ndim < 2:
        raise InputError(f"{name}: expected a tensor of shape (..., H, W), got shape {tuple(maps.shape)}")
    lead = tuple(maps.shape[:-2])
    return maps.reshape(-1, *maps.shape[-2:]), lead


def box_area(boxes: Tensor) -> Tensor:
    """Area ``(x1 - x0) * (y1 - y0)`` of boxes ``(..., 4)``; inverted or empty boxes have area 0."""
    w = (boxes[..., 2] - boxes[..., 0]).clamp(min=0)
    h = (boxes[..., 3] - boxes[..., 1]).clamp(min=0)
    return w * h


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Intersection over union of boxes ``a`` and ``b`` (``(..., 4)``, broadcast against each other).

    ``IoU(A, B) = |A ∩ B| / |A ∪ B|``. Degenerate boxes (zero width or height) have area 0; when the
    union is empty the IoU is defined as 0, so an empty prediction never counts as a hit.
    """
    a, b = torch.broadcast_tensors(a.float(), b.float())
    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = iw * ih
    union = box_area(a) + box_area(b) - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(union))


def pairwise_box_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of every box in ``a (..., A, 4)`` with every box in ``b (..., B, 4)`` -> ``(..., A, B)``."""
    return box_iou(a.unsqueeze(-2), b.unsqueeze(-3))


def validate_boxes(boxes: Tensor, height: int, width: int, tolerance: float = 0.5) -> Tensor:
    """Which boxes ``(..., 4)`` are well formed inside an image of ``height x width``.

    A box is valid when ``x0 < x1``, ``y0 < y1`` and it lies inside ``[0, width] x [0, height]`` up to
    ``tolerance`` pixels (rounded annotations often end at ``width + 0.01``). Returns a bool ``(...)``.
    """
    finite = torch.isfinite(boxes).all(-1)
    ordered = (boxes[..., 2] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 1])
    inside = (
        (boxes[..., 0] >= -tolerance)
        & (boxes[..., 1] >= -tolerance)
        & (boxes[..., 2] <= width + tolerance)
        & (boxes[..., 3] <= height + tolerance)
    )
    return finite & ordered & inside


def threshold_maps(maps: Tensor, threshold: float | Tensor = 0.2, relative: bool = True) -> Tensor:
    """Foreground masks ``M > t`` with ``t = threshold * max(M)`` (``relative``) or ``t = threshold``.

    ``threshold`` may be a float or a 1-D tensor of T thresholds; with T thresholds the result has a
    new dimension before H, W: ``(..., T, H, W)``. A map whose maximum is <= 0 has an empty mask.
    """
    flat, lead = _as_maps(maps)
    flat = flat.float()
    thr = torch.as_tensor(threshold, dtype=flat.dtype, device=flat.device)
    peak = flat.amax(dim=(-2, -1))  # (B,)
    if thr.ndim == 0:
        t = thr * peak if relative else thr.expand_as(peak)
        out = (flat > t[:, None, None]) & (peak > 0)[:, None, None]
        return out.reshape(*lead, *flat.shape[-2:])
    if thr.ndim != 1:
        raise InputError(f"threshold: expected a float or a 1-D tensor, got shape {tuple(thr.shape)}")
    t = thr[None, :] * peak[:, None] if relative else thr[None, :].expand(flat.shape[0], -1)
    out = (flat[:, None] > t[:, :, None, None]) & (peak > 0)[:, None, None, None]
    return out.reshape(*lead, thr.numel(), *flat.shape[-2:])


def _neighbour_max(labels: Tensor, connectivity: int) -> Tensor:
    x = labels.unsqueeze(1)
    if connectivity == 8:
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1).squeeze(1)
    p = F.pad(x, (1, 1, 1, 1))
    up, down = p[..., :-2, 1:-1], p[..., 2:, 1:-1]
    left, right = p[..., 1:-1, :-2], p[..., 1:-1, 2:]
    return torch.stack([x, up, down, left, right]).amax(0).squeeze(1)


def connected_components(masks: Tensor, connectivity: int = 8, backend: CCBackend = "auto") -> Tensor:
    """Label the connected components of binary masks ``(..., H, W)``, batched.

    ``backend="torch"`` runs on the masks' device: every foreground pixel starts with its own label
    (1 + its flat index), which points at a pixel of its component. Each round a pixel takes the
    largest label among its foreground neighbours (a 3x3 max-pool for 8-connectivity), hands that label
    to the pixel its old label points at (hooking), and then follows the pointers (pointer jumping),
    until nothing changes; the labels are finally renumbered 1..K per mask.

    ``backend="scipy"`` calls ``scipy.ndimage.label`` per mask at the edge (on CPU it is about 50x
    faster than the torch rounds, which matters for the 100-threshold sweep of MaxBoxAcc on thousands
    of maps). ``"auto"`` (default) uses scipy for CPU tensors when it is installed, torch otherwise.
    The tests check that both give the same partition.

    Args:
        masks: bool tensor ``(..., H, W)``.
        connectivity: 8 (default, as the OpenCV contours used by the papers' code) or 4.
        backend: "auto", "torch" or "scipy".

    Returns:
        int64 labels of the same shape: 0 is background, components are numbered 1..K in each mask.
    """
    if connectivity not in (4, 8):
        raise InputError(f"connectivity: expected 4 or 8, got {connectivity}")
    if backend not in ("auto", "torch", "scipy"):
        raise InputError(f"backend: expected 'auto', 'torch' or 'scipy', got {backend!r}")
    flat, lead = _as_maps(masks, "masks")
    fg = flat.bool()
    if backend == "auto":
        backend = "scipy" if fg.device.type == "cpu" and _has_scipy() else "torch"
    labels = _cc_scipy(fg, connectivity) if backend == "scipy" else _cc_torch(fg, connectivity)
    return labels.reshape(*lead, *fg.shape[-2:])


def _has_scipy() -> bool:
    try:
        import scipy.ndimage  # noqa: F401
    except ImportError:  # pragma: no cover - scipy comes with scikit-image
        return False
    return True


def _cc_scipy(fg: Tensor, connectivity: int) -> Tensor:
    import numpy as np
    from scipy import ndimage

    structure = np.ones((3, 3), bool) if connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    arr = fg.cpu().numpy()
    out = np.zeros(arr.shape, dtype=np.int64)
    for i in range(arr.shape[0]):  # the edge: one C call per mask
        out[i], _ = ndimage.label(arr[i], structure=structure)
    return torch.from_numpy(out).to(fg.device)


def _cc_torch(fg: Tensor, connectivity: int) -> Tensor:
    b, h, w = fg.shape
    n = h * w
    dtype = torch.float32 if n < 2**24 else torch.float64  # labels stay exact integers in this dtype
    idx = torch.arange(1, n + 1, device=fg.device, dtype=dtype).reshape(1, h, w)
    zero = torch.zeros((), dtype=dtype, device=fg.device)
    labels = torch.where(fg, idx, zero)
    for _ in range(n + 1):  # terminates after O(log n) rounds; the bound guards against a logic error
        m = torch.where(fg, _neighbour_max(labels, connectivity), zero).reshape(b, n)
        cur = labels.reshape(b, n)
        ptr = (cur - 1).clamp(min=0).long()
        new = torch.maximum(cur, m).scatter_reduce(1, ptr, m, reduce="amax")
        for _ in range(3):
            ptr = (new - 1).clamp(min=0).long()
            new = torch.maximum(new, torch.where(new > 0, new.gather(1, ptr), new))
        new = new.reshape(b, h, w)
        if torch.equal(new, labels):
            break
        labels = new
    # renumber 1..K per mask: background 0 sorts first, so unique ranks give consecutive labels
    offset = torch.arange(b, device=fg.device).reshape(b, 1, 1) * (n + 1)
    keys = torch.cat([(labels.long() + offset).flatten(), offset.flatten()])  # every mask has a 0 key
    uniq, inverse = torch.unique(keys, return_inverse=True)
    starts = torch.searchsorted(uniq, offset.flatten())
    out = inverse[: b * n].reshape(b, h, w) - starts.reshape(b, 1, 1)
    return torch.where(fg, out, torch.zeros_like(out))


def component_boxes(masks: Tensor, connectivity: int = 8, backend: CCBackend = "auto") -> tuple[Tensor, Tensor]:
    """Bounding boxes and pixel counts of all connected components of masks ``(..., H, W)``.

    Returns:
        ``boxes (..., K, 4)`` and ``areas (..., K)`` (pixel counts), sorted by area, largest first,
        where K is the largest number of components in any mask; missing components have area 0 and
        box ``(0, 0, 0, 0)``. An empty mask gives K = 1 with area 0.
    """
    flat, lead = _as_maps(masks, "masks")
    b, h, w = flat.shape
    if backend == "scipy" or (backend == "auto" and flat.device.type == "cpu" and _has_scipy()):
        boxes, areas = _component_boxes_scipy(flat.bool(), connectivity)
        return boxes.reshape(*lead, *boxes.shape[1:]), areas.reshape(*lead, areas.shape[1])
    labels = connected_components(flat, connectivity, "torch").reshape(b, h * w)
    dev = labels.device
    slots = int(labels.max().item()) + 1 if labels.numel() else 1
    glob = (labels + torch.arange(b, device=dev)[:, None] * slots).flatten()
    cols = torch.arange(w, device=dev).repeat(h).expand(b, -1).flatten()
    rows = torch.arange(h, device=dev).repeat_interleave(w).expand(b, -1).flatten()
    big = torch.full((b * slots,), h + w + 1, device=dev, dtype=torch.long)
    small = torch.full((b * slots,), -1, device=dev, dtype=torch.long)
    x0 = big.scatter_reduce(0, glob, cols, reduce="amin").reshape(b, slots)
    y0 = big.scatter_reduce(0, glob, rows, reduce="amin").reshape(b, slots)
    x1 = small.scatter_reduce(0, glob, cols, reduce="amax").reshape(b, slots) + 1
    y1 = small.scatter_reduce(0, glob, rows, reduce="amax").reshape(b, slots) + 1
    counts = torch.bincount(glob, minlength=b * slots).reshape(b, slots)
    counts[:, 0] = 0  # background
    k = max(1, slots - 1)
    areas, order = counts.topk(k, dim=1)
    boxes = torch.stack([x0.gather(1, order), y0.gather(1, order), x1.gather(1, order), y1.gather(1, order)], -1)
    boxes = torch.where((areas > 0)[..., None], boxes, torch.zeros_like(boxes)).float()
    return boxes.reshape(*lead, k, 4), areas.reshape(*lead, k)


def _component_boxes_scipy(fg: Tensor, connectivity: int) -> tuple[Tensor, Tensor]:
    """scipy path of :func:`component_boxes`: ``ndimage.label`` + ``find_objects`` per mask (C loops)."""
    import numpy as np
    from scipy import ndimage

    structure = np.ones((3, 3), bool) if connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    arr = fg.cpu().numpy()
    per_mask: list[tuple[np.ndarray, np.ndarray]] = []
    for i in range(arr.shape[0]):
        labels, n = ndimage.label(arr[i], structure=structure)
        if n == 0:
            per_mask.append((np.zeros((0, 4)), np.zeros(0, dtype=np.int64)))
            continue
        objs = ndimage.find_objects(labels)
        bx = np.array([[sl[1].start, sl[0].start, sl[1].stop, sl[0].stop] for sl in objs], dtype=np.float64)
        ar = np.bincount(labels.ravel(), minlength=n + 1)[1:]
        order = np.argsort(-ar, kind="stable")
        per_mask.append((bx[order], ar[order]))
    k = max(1, max(len(a) for _, a in per_mask))
    boxes = np.zeros((arr.shape[0], k, 4), dtype=np.float32)
    areas = np.zeros((arr.shape[0], k), dtype=np.int64)
    for i, (bx, ar) in enumerate(per_mask):
        boxes[i, : len(ar)] = bx
        areas[i, : len(ar)] = ar
    return torch.from_numpy(boxes).to(fg.device), torch.from_numpy(areas).to(fg.device)


def mask_to_box(masks: Tensor) -> Tensor:
    """The bounding box ``(..., 4)`` of all foreground pixels of masks ``(..., H, W)`` (zeros if empty)."""
    flat, lead = _as_maps(masks, "masks")
    fg = flat.bool()
    any_row, any_col = fg.any(-1), fg.any(-2)  # (B, H), (B, W)
    h, w = fg.shape[-2:]
    r = torch.arange(h, device=fg.device)
    c = torch.arange(w, device=fg.device)
    y0 = torch.where(any_row, r, h).amin(-1)
    y1 = torch.where(any_row, r, -1).amax(-1) + 1
    x0 = torch.where(any_col, c, w).amin(-1)
    x1 = torch.where(any_col, c, -1).amax(-1) + 1
    boxes = torch.stack([x0, y0, x1, y1], -1).float()
    boxes = torch.where(fg.flatten(1).any(1)[:, None], boxes, torch.zeros_like(boxes))
    return boxes.reshape(*lead, 4)


def boxes_from_maps(
    maps: Tensor,
    threshold: float = 0.2,
    *,
    mode: BoxMode = "largest",
    relative: bool = True,
    connectivity: int = 8,
    backend: CCBackend = "auto",
) -> Tensor | tuple[Tensor, Tensor]:
    """Boxes from maps ``(..., H, W)`` by the CAM protocol (Zhou et al. 2016).

    The foreground is ``M > threshold * max(M)`` (``relative=True``; 20% by default as in the CAM
    paper) or ``M > threshold``. ``mode="largest"`` returns the bounding box of the largest
    8-connected component, ``(..., 4)``; an empty foreground (e.g. an all-zero map) gives the empty box
    ``(0, 0, 0, 0)``, whose IoU with anything is 0. ``mode="all"`` returns the boxes and areas of all
    components, ``((..., K, 4), (..., K))``, as used by Choe et al. 2020.
    """
    if mode not in ("largest", "all"):
        raise InputError(f"mode: expected 'largest' or 'all', got {mode!r}")
    masks = threshold_maps(maps, threshold, relative)
    boxes, areas = component_boxes(masks, connectivity, backend)
    if mode == "largest":
        return boxes[..., 0, :]
    return boxes, areas
