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
