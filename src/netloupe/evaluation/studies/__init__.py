"""Dataset studies built on the pure metrics of :mod:`netloupe.evaluation`: they read a dataset, run the
explain engine and write tables (``netloupe localize``, ``netloupe evaluate``).

``localization``: weakly-supervised localization error, MaxBoxAccV2, pointing game, energy in boxes or
masks. ``faithfulness``: deletion/insertion, Average Drop/Increase, ROAD and randomisation sanity checks.
Progress is reported as ``progress(stage, done, total)`` (:data:`StageProgress`).
"""

from collections.abc import Callable

StageProgress = Callable[[str, int, int], None]

__all__ = ["StageProgress"]
