"""``import netloupe`` exposes only the public API."""

from __future__ import annotations

import netloupe


def test_package_namespace_is_only_the_public_api() -> None:
    names = dir(netloupe)
    assert names == sorted(netloupe.__all__)
    for leaked in ("Any", "TYPE_CHECKING", "annotations", "import_module"):
        assert leaked not in names
        assert not hasattr(netloupe, leaked), leaked
    assert all(not n.startswith("_") or n == "__version__" for n in names)
    assert callable(netloupe.explain) and netloupe.load_model.__module__ == "netloupe.models.zoo"


def test_transformer_and_dense_target_api_is_exported() -> None:
    """The layer description and the zero-shot / detection / segmentation targets are public names."""
    from netloupe import layers, layout, targets

    for name in ("EmbeddingTarget", "BoxScoreTarget", "SegmentationTarget", "TargetOutputs"):
        assert name in netloupe.__all__ and getattr(netloupe, name) is getattr(targets, name)
    assert netloupe.describe_layer is layers.describe_layer and netloupe.LayerInfo is layout.LayerInfo
