"""Strip figures: frames of a clip with each model's Grad-CAM over them and the moving digit's box."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .data import VideoSet

__all__ = ["gif_bytes", "plot_strip"]


def plot_strip(
    videos: np.ndarray, maps: dict[str, np.ndarray], indices: Sequence[int], data: VideoSet, titles: Sequence[str]
) -> Any:
    """One block of rows per clip: the frames, then one row per model with its map (one scale per clip and
    model, so that brightness also shows *when*); green box = moving digit, frames where it moves marked."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    t = videos.shape[1]
    rows = len(indices) * (1 + len(maps))
    fig, axes = plt.subplots(rows, t, figsize=(t * 0.9, rows * 1.0 + 0.4), squeeze=False)
    r = 0
    for clip, (i, title) in enumerate(zip(indices, titles, strict=True)):
        layers = [("frames", videos[clip], "gray")] + [(n, m[i], "inferno") for n, m in maps.items()]
        for name, stack, cmap in layers:
            vmax = float(stack.max()) or 1.0
            for f in range(t):
                ax = axes[r, f]
                frames = name == "frames"
                ax.imshow(stack[f], cmap=cmap, vmin=None if frames else 0, vmax=None if frames else vmax)
                r0, c0, r1, c1 = data.boxes[i, f]
                ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, ec="lime", lw=0.8))
                ax.set_xticks([])
                ax.set_yticks([])
                if data.moving[i, f] and name == "frames":
                    ax.set_title("mover", fontsize=6, color="green")
            axes[r, 0].set_ylabel(name if name != "frames" else title, fontsize=7)
            r += 1
    fig.suptitle("Grad-CAM over frames (CNN+LSTM: per frame; Conv3d: 3-D map); green: the moving digit", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.25)
    return fig


def gif_bytes(video: np.ndarray, maps: dict[str, np.ndarray], scale: int = 4, ms_per_frame: int = 250) -> bytes:
    """An animated GIF: per frame, the grey frame and each model's map (inferno, one scale per model) side by
    side, ``scale`` times larger. ``video`` (T, H, W), each map (T, H, W)."""
    import io

    from matplotlib import colormaps
    from PIL import Image

    lo, hi = float(video.min()), float(video.max())
    panels = [np.repeat(((video - lo) / ((hi - lo) or 1.0))[..., None], 3, -1)]
    for m in maps.values():
        panels.append(colormaps["inferno"](m / (float(m.max()) or 1.0))[..., :3])
    strip = np.concatenate(panels, axis=2)  # (T, H, W * panels, 3)
    frames = [
        Image.fromarray((f * 255).astype(np.uint8)).resize(
            (f.shape[1] * scale, f.shape[0] * scale), Image.Resampling.NEAREST
        )
        for f in strip
    ]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=ms_per_frame, loop=0)
    return buf.getvalue()
