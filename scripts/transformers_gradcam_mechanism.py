"""Why Grad-CAM at a class-token ViT's last block misses the object: where the gradient is vs the map.

At the last block's ``norm1`` of a class-token model, the patch tokens reach the head only through the
class token's attention, so the gradient of the class score at patch token j is (value path)
``a_j * u`` plus a key-path term, with ``a_j`` the class token's attention to j and ``u`` one vector per
image. Grad-CAM averages the gradient over tokens (``w = mean_j g_j``): the attention that says *where*
is averaged away and the map becomes ``ReLU(<A_j, w>)``, the similarity of each token's normalised
features to one direction, lit wherever a token looks like that direction. This script measures, on the
held-out images of ``layer_sweep.md``, the pointing game of

- the gradient's norm per token ``||g_j||`` (where the score is sensitive),
- the class token's attention in the last block (mean over heads),
- Grad-CAM (channel-averaged gradient times activation) and HiResCAM (element-wise, ``sum_c g_jc A_jc``),

and the correlation (over tokens, median over images) of Grad-CAM's map with the attention.

Writes ``results/transformers/gradcam_mechanism.{md,json}``.

    python scripts/transformers_gradcam_mechanism.py [--n 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from netloupe.io.atomic import atomic_write_json, atomic_write_text
from netloupe.layout import prefix_tokens
from netloupe.models.tiny_transformers import load_tiny, locate_scores, shapes_scenes

OUT = Path(__file__).resolve().parents[1] / "results" / "transformers"
HELD_OUT_SEED = 2_000_000


def _grid_maps(per_token: Tensor) -> Tensor:
    """(N, 64) per-patch values -> (N, 32, 32) maps (bilinear, as the engine upsamples)."""
    n = per_token.shape[0]
    return F.interpolate(per_token.reshape(n, 1, 8, 8), size=(32, 32), mode="bilinear", align_corners=False)[:, 0]


def measure(arch: str, n: int) -> dict[str, Any]:
    model: nn.Module = load_tiny(arch)
    scenes = shapes_scenes(n, HELD_OUT_SEED)
    p = prefix_tokens(model)
    prefix = p[0] if p else 0
    blocks = model.blocks  # type: ignore[attr-defined]
    last = blocks[len(blocks) - 1]
    saved: dict[str, Tensor] = {}

    def keep_norm(_m: nn.Module, _i: object, out: Tensor) -> None:
        out.retain_grad()
        saved["acts"] = out

    def keep_attn(_m: nn.Module, inp: tuple[Tensor, ...], _o: object) -> None:
        saved["attn"] = inp[0].detach()

    last.attn.fused_attn = False
    handles = [last.norm1.register_forward_hook(keep_norm), last.attn.attn_drop.register_forward_hook(keep_attn)]
    try:
        out = model(scenes.images)
        cls = out.argmax(1)
        out.gather(1, cls[:, None]).sum().backward()
    finally:
        for h in handles:
            h.remove()
    acts = saved["acts"].detach()[:, prefix:]  # (N, 64, C)
    grads = saved["acts"].grad[:, prefix:]  # type: ignore[index]
    attn = saved["attn"].mean(1)[:, 0, prefix:]  # class token's row, heads averaged: (N, 64)
    w = grads.mean(1, keepdim=True)  # Grad-CAM's channel weights
    maps = {
        "gradient norm ||g_j||": grads.norm(dim=2),
        "class-token attention (last block)": attn,
        "gradcam ReLU(<A_j, mean_j g_j>)": (acts * w).sum(2).clamp(min=0),
        "hirescam ReLU(sum_c g_jc A_jc)": (acts * grads).sum(2).clamp(min=0),
    }
    rows = {}
    for name, per_token in maps.items():
        hits, energy = locate_scores(_grid_maps(per_token), scenes.boxes)
        rows[name] = {
            "pointing_game": round(float(hits.float().mean()), 4),
            "energy_in_box": round(float(energy.nanmean()), 4),
        }
    # how much the gradient varies over tokens, and whether Grad-CAM's map follows the attention
    gradcam, att = maps["gradcam ReLU(<A_j, mean_j g_j>)"], attn
    corr = []
    for i in range(n):
        a, b = gradcam[i], att[i]
        if float(a.std()) > 0 and float(b.std()) > 0:
            corr.append(float(torch.corrcoef(torch.stack([a, b]))[0, 1]))
    gnorm = maps["gradient norm ||g_j||"]
    top_share = (gnorm.topk(4, dim=1).values.sum(1) / gnorm.sum(1)).median()
    return {
        "arch": arch,
        "layer": f"blocks.{len(blocks) - 1}.norm1",
        "n": n,
        "maps": rows,
        "median_corr_gradcam_vs_attention": round(float(torch.tensor(corr).median()), 4),
        "median_gradient_share_of_top4_tokens": round(float(top_share), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = [measure(a, args.n) for a in ("tiny_vit_reg", "tiny_deit")]
    meta = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} thread",
        "torch": torch.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python scripts/transformers_gradcam_mechanism.py" + (f" --n {args.n}" if args.n != 500 else ""),
    }
    lines = [
        "# Why Grad-CAM at a class-token ViT's last block misses the object",
        "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "),
        "",
        f"{args.n} held-out images (seed {HELD_OUT_SEED}), predicted class, the last block's norm1 (the automatic "
        f"layer). Machine: {meta['machine']}, torch {meta['torch']}, {meta['date']}. Command: `{meta['command']}`.",
        "",
        "| model | per-token map | pointing game | energy in box |",
        "|---|---|---|---|",
    ]
    for r in results:
        for name, v in r["maps"].items():
            lines.append(f"| {r['arch']} | {name} | {v['pointing_game']:.3f} | {v['energy_in_box']:.3f} |")
    lines += [
        "",
        "| model | median share of the gradient norm on its top 4 of 64 tokens | median r(Grad-CAM, attention) |",
    ]
    lines += ["|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['arch']} | {r['median_gradient_share_of_top4_tokens']:.3f} | "
            f"{r['median_corr_gradcam_vs_attention']:.3f} |"
        )
    atomic_write_json(OUT / "gradcam_mechanism.json", {"meta": meta, "results": results})
    atomic_write_text(OUT / "gradcam_mechanism.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
