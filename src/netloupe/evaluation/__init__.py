"""netloupe.evaluation: is a map right? Pure, batched, device-agnostic metrics on tensors.

* :mod:`.boxes` — maps to boxes (CAM protocol, all components), connected components, IoU;
* :mod:`.localization` — top-1 / top-5 / GT-known localization error, MaxBoxAccV2, pointing game;
* :mod:`.masks` — energy inside the mask, best-threshold IoU, PxAP / PIoU;
* :mod:`.faithfulness` — deletion / insertion (RISE), Average Drop / Increase, ROAD;
* :mod:`.sanity` — parameter randomisation with rank correlation (Adebayo et al. 2018);
* :mod:`.baselines` — random, edge (Sobel), centred Gaussian and plain-gradient maps;
* :mod:`.energy` — share of energy inside regions (masks, boxes, borders, corners) for the medical views.

Accumulator classes (``LocalizationAccumulator``, ``MaxBoxAccumulator``, ``PointingGameAccumulator``,
``MaskAccumulator``) sum over a dataset batch by batch. Nothing here reads files or prints.
"""

from __future__ import annotations

from .baselines import center_gaussian_maps, gradient_maps, random_maps, sobel_maps
from .boxes import (
    box_iou,
    boxes_from_maps,
    component_boxes,
    connected_components,
    mask_to_box,
    pairwise_box_iou,
    threshold_maps,
    validate_boxes,
)
from .faithfulness import (
    ConfidenceChange,
    RoadCurve,
    auc,
    average_drop_increase,
    deletion_curve,
    gaussian_blur,
    insertion_curve,
    noisy_linear_imputation,
    road,
)
from .localization import (
    LocalizationAccumulator,
    MaxBoxAccumulator,
    PointingGameAccumulator,
    best_box_iou,
    localization_hits,
    pointing_game_hits,
    topk_correct,
)
from .masks import MaskAccumulator, best_threshold_iou, energy_in_mask, mask_iou
from .sanity import (
    RandomizationResult,
    cascading_randomization,
    independent_randomization,
    randomizable_layers,
    rank,
    spearman,
)

__all__ = [
    "ConfidenceChange",
    "LocalizationAccumulator",
    "MaskAccumulator",
    "MaxBoxAccumulator",
    "PointingGameAccumulator",
    "RandomizationResult",
    "RoadCurve",
    "auc",
    "average_drop_increase",
    "best_box_iou",
    "best_threshold_iou",
    "box_iou",
    "boxes_from_maps",
    "cascading_randomization",
    "center_gaussian_maps",
    "component_boxes",
    "connected_components",
    "deletion_curve",
    "energy_in_mask",
    "gaussian_blur",
    "gradient_maps",
    "independent_randomization",
    "insertion_curve",
    "localization_hits",
    "mask_iou",
    "mask_to_box",
    "noisy_linear_imputation",
    "pairwise_box_iou",
    "pointing_game_hits",
    "random_maps",
    "randomizable_layers",
    "rank",
    "road",
    "sobel_maps",
    "spearman",
    "threshold_maps",
    "topk_correct",
    "validate_boxes",
]
