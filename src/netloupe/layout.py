"""What a layer's output looks like, and how to turn it into a ``(N, C, *spatial)`` map.

Three layouts cover the vision models people use:

- ``channels-first``: ``(N, C, *S)`` (CNNs, timm ConvNeXt/MaxViT stage outputs);
- ``channels-last``: ``(N, *S, C)`` (timm Swin stages and norms, ConvNeXt-block internals);
- ``tokens``: ``(N, P + prod(S), C)`` with ``P`` prefix tokens (class, distillation, register tokens)
  before the patch tokens (ViT, DeiT, DINOv2, EVA, Hugging Face ViT/Swin hidden states).

The layout is read from the output's shape against the input's spatial size (a feature map's sides
are the input's sides divided by one common stride); the prefix count is read from the model (timm's
``num_prefix_tokens``, or its class/distillation/register token parameters), never guessed; the token
grid is the factorisation of the patch count whose aspect ratio matches the input (non-square grids).

>>> import torch
>>> info = infer_layout((1, 1 + 4 * 6, 8), torch.nn.LayerNorm(8), (64, 96), prefix_tokens=1)
>>> info.layout, info.grid
('tokens', (4, 6))
>>> info.to_grid(torch.zeros(2, 25, 8)).shape
torch.Size([2, 8, 4, 6])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from .errors import InputError

__all__ = [
    "LAYOUTS",
    "LayerInfo",
    "Layout",
    "acts_on_last_dim",
    "attention_internal",
    "check_layout_name",
    "infer_layout",
    "prefix_tokens",
]

Layout = Literal["channels-first", "channels-last", "tokens"]
#: names accepted by ``reshape=`` (library) and ``--layout`` (CLI)
LAYOUTS = ("auto", "channels-first", "channels-last", "tokens")

#: parameters that prepend tokens to the patch sequence (timm, Hugging Face, OpenCLIP spellings)
_PREFIX_PARAMS = (
    "cls_token",
    "class_token",
    "class_embedding",
    "dist_token",
    "distillation_token",
    "reg_token",
    "register_tokens",
)
#: direct children that make a module an attention core (its inside is never a feature map)
_ATTN_CHILDREN = frozenset(
    {"qkv", "q", "k", "v", "query", "key", "value", "q_proj", "k_proj", "v_proj", "to_qkv", "in_proj", "kv"}
)
#: name components that are attention internals wherever they appear
_ATTN_NAMES = frozenset({"q_norm", "k_norm", "attn_drop", "attn_dropout", "softmax", "attention_probs", "attn_probs"})
#: an accepted stride spread between spatial sides (rounding of odd sizes; 1.5 rejects channel axes)
_STRIDE_SPREAD = 1.5


@dataclass(frozen=True)
class LayerInfo:
    """A layer and the layout its output was read with.

    Attributes:
        name: the layer's dotted name in the model.
        layout: ``channels-first``, ``channels-last``, ``tokens`` or ``custom`` (a user's callable).
        shape: the layer output's own shape (probe batch of one).
        grid: the spatial size of the maps at the layer.
        prefix_tokens: tokens dropped before the patch grid (class, distillation, register tokens).
        reason: why this layer / layout (shown to users, written to manifests).
    """

    name: str
    layout: str
    shape: tuple[int, ...]
    grid: tuple[int, ...]
    prefix_tokens: int = 0
    reason: str = ""

    def __str__(self) -> str:
        grid = "x".join(str(s) for s in self.grid)
        extra = f", {self.prefix_tokens} prefix tokens dropped" if self.prefix_tokens else ""
        return f"{self.name} ({self.layout}, {grid} grid{extra})"

    def to_grid(self, t: Tensor) -> Tensor:
        """``t`` (layer output layout, any batch) -> ``(B, C, *grid)``."""
        if self.layout == "channels-first":
            return t
        if self.layout == "channels-last":
            return t.movedim(-1, 1)
        if self.layout == "tokens":
            patches = t[:, self.prefix_tokens :]
            return patches.transpose(1, 2).reshape(t.shape[0], t.shape[2], *self.grid)
        raise InputError(f"reshape: layout {self.layout!r} has no built-in transform")

    def as_dict(self) -> dict[str, object]:
        """JSON-ready description (manifests, web responses)."""
        return {
            "name": self.name,
            "layout": self.layout,
            "shape": list(self.shape),
            "grid": list(self.grid),
            "prefix_tokens": self.prefix_tokens,
            "reason": self.reason,
        }


def check_layout_name(name: str) -> str:
    """A layout name as given to ``reshape=`` / ``--layout``, normalised; InputError otherwise."""
    key = name.strip().lower().replace("_", "-")
    key = {"nchw": "channels-first", "nhwc": "channels-last", "token": "tokens", "vit": "tokens"}.get(key, key)
    if key not in LAYOUTS:
        raise InputError(f"reshape: expected one of {', '.join(LAYOUTS)} or a callable, got {name!r}")
    return key


def prefix_tokens(model: nn.Module) -> tuple[int, str] | None:
    """How many tokens precede the patch tokens, read from the model, and where it was read.

    timm models say it (``num_prefix_tokens``); otherwise the class / distillation / register token
    parameters are counted (Hugging Face ViT, DeiT, DINOv2 with registers, CLIP). None: no sign of any.
    """
    for name, module in model.named_modules():
        value = getattr(module, "num_prefix_tokens", None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value, f"{name + '.' if name else ''}num_prefix_tokens"
    count, found = 0, []
    for name, param in model.named_parameters():
        if name.rsplit(".", 1)[-1] in _PREFIX_PARAMS:
            count += 1 if param.ndim < 2 else int(param.shape[-2])
            found.append(name)
    if found:
        return count, " + ".join(found)
    return None


def attention_internal(name: str, module: nn.Module, cores: set[str]) -> bool:
    """Whether ``name`` is inside attention (q/k/v, their norms, probabilities, dropout) or is the core.

    ``cores``: the names of the attention cores (modules owning q/k/v projections), see :func:`attention_cores`.
    """
    parts = name.split(".")
    if parts[-1] in _ATTN_NAMES or parts[-1] in _ATTN_CHILDREN:
        return True
    if isinstance(module, (nn.MultiheadAttention, nn.Softmax)):
        return True
    return any(name == core or name.startswith(core + ".") for core in cores)


def attention_cores(model: nn.Module) -> set[str]:
    """Names of the modules that own query/key/value projections (timm ``Attention``, HF ``*SelfAttention``)."""
    cores = set()
    for name, module in model.named_modules():
        children = {child for child, _ in module.named_children()}
        if children & _ATTN_CHILDREN or isinstance(module, nn.MultiheadAttention):
            cores.add(name)
    return cores


def acts_on_last_dim(module: nn.Module | None) -> bool:
    """A module that only makes sense on a channels-last tensor (plain LayerNorm/Linear, not LayerNorm2d)."""
    if module is None:
        return False
    if isinstance(module, nn.Linear):
        return True
    return isinstance(module, (nn.LayerNorm, nn.RMSNorm)) and type(module).__name__ in ("LayerNorm", "RMSNorm")


def _stride_consistent(sides: tuple[int, ...], size: tuple[int, ...]) -> bool:
    """``sides`` are ``size`` divided by one common stride (up to rounding).

    Volumes and clips (3 spatial axes) are often pooled per axis (a video network keeps its time axis,
    a CT network its few slices), so there each side only has to be at most its input side.
    """
    if len(sides) != len(size) or any(s < 1 for s in sides):
        return False
    if len(size) == 3:
        return all(s <= i for s, i in zip(sides, size, strict=True))
    ratios = [i / s for i, s in zip(size, sides, strict=True)]
    return max(ratios) / min(ratios) <= _STRIDE_SPREAD


def token_grid(n: int, size: tuple[int, int]) -> tuple[int, int] | None:
    """The factorisation ``h * w == n`` whose aspect ratio matches the input's, or None."""
    target = math.log(size[0] / size[1])
    best: tuple[float, tuple[int, int]] | None = None
    for h in range(1, n + 1):
        if n % h:
            continue
        w = n // h
        err = abs(math.log(h / w) - target)
        if best is None or err < best[0]:
            best = (err, (h, w))
    if best is None or best[0] > math.log(_STRIDE_SPREAD):
        return None
    return best[1]


def infer_layout(
    shape: tuple[int, ...],
    module: nn.Module | None,
    input_size: tuple[int, ...],
    prefix_tokens: int | None = None,
    name: str = "",
    want: str = "auto",
) -> LayerInfo | None:
    """The layout of an output of ``shape`` for inputs of spatial size ``input_size``, or None.

    Args:
        shape: the layer output's shape ``(N, ...)``.
        module: the layer (breaks ties: a plain LayerNorm/Linear acts on the last axis).
        input_size: the input's spatial sides, e.g. ``(H, W)``.
        prefix_tokens: tokens before the patch grid (None: unknown; then only a count that leaves an
            exact grid is accepted, and said so in ``reason``).
        name: the layer's name (for the result).
        want: ``auto`` or a forced layout name.
    """
    d = len(input_size)
    shape = tuple(int(s) for s in shape)
    if want == "tokens" or (want == "auto" and len(shape) == 3 and d == 2):
        if len(shape) != 3 or d != 2:
            return None
        return _tokens(shape, input_size, prefix_tokens, name)
    if len(shape) != d + 2:
        return None
    cf, cl = shape[2:], shape[1:-1]
    cf_ok = _stride_consistent(cf, input_size) and math.prod(cf) > 1
    cl_ok = _stride_consistent(cl, input_size) and math.prod(cl) > 1
    if d == 1:  # one side: the geometry cannot tell the axes apart; only a last-axis module says channels-last
        cl_ok = cl_ok and acts_on_last_dim(module)
    if want == "channels-first" or (want == "auto" and cf_ok and not (cl_ok and acts_on_last_dim(module))):
        if want == "auto" and not cf_ok:
            return None
        return LayerInfo(name, "channels-first", shape, cf, 0, "channels-first grid")
    if want == "channels-last" or cl_ok:
        return LayerInfo(name, "channels-last", shape, cl, 0, "channels-last grid (N, *S, C)")
    return None


def _tokens(shape: tuple[int, ...], size: tuple[int, ...], prefix: int | None, name: str) -> LayerInfo | None:
    n_tokens = shape[1]
    h, w = size
    if prefix is not None:
        grid = token_grid(n_tokens - prefix, (h, w)) if n_tokens > prefix else None
        if grid is None or math.prod(grid) < 2:
            return None
        return LayerInfo(name, "tokens", shape, grid, prefix, f"tokens: {prefix} prefix + {grid[0]}x{grid[1]} patches")
    # Unknown prefix: accept only a count that leaves a grid with exactly the input's aspect ratio.
    for p in range(0, min(n_tokens - 1, 16) + 1):
        grid = token_grid(n_tokens - p, (h, w))
        if grid is not None and grid[0] * w == grid[1] * h and math.prod(grid) > 1:
            return LayerInfo(
                name, "tokens", shape, grid, p, f"tokens: {p} prefix (inferred: the model declares none) + patches"
            )
    return None
