"""How grey is Guided Grad-CAM on the demo's cat photo, shown by max-abs scaling vs attribution_to_rgb?

Usage: PYTHONPATH=src python scripts/demo/guided_display.py
Prints the fraction of pixels more than 0.05 away from mid-grey and the standard deviation of the shown
image, for the old display (scaled by the maximum |a|) and for percentile scaling.
"""

from __future__ import annotations

import numpy as np
import torch

from netloupe.attribution.guided import guided_gradcam
from netloupe.demo.images import demo_photo
from netloupe.models import load_model
from netloupe.viz.attribution import attribution_to_rgb


def main() -> None:
    torch.set_num_threads(1)
    loaded = load_model()
    x = loaded.preprocess.batch([demo_photo("chelsea.png")])
    attr = guided_gradcam(loaded.model, x, targets=None, layer=loaded.target_layer)[0, 0].numpy()
    old = attr.transpose(1, 2, 0) / (np.abs(attr).max() + 1e-12) * 0.5 + 0.5
    print(f"max-abs scaling: {np.mean(np.abs(old - 0.5) > 0.05):.3f} of pixels away from grey, std {old.std():.3f}")
    for p in (99.0, 99.5, 99.9):
        new = attribution_to_rgb(attr, p)
        print(f"percentile {p}: {np.mean(np.abs(new - 0.5) > 0.05):.3f} of pixels away from grey, std {new.std():.3f}")


if __name__ == "__main__":
    main()
