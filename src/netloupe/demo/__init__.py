"""``netloupe demo``: the main job. Explains real photographs with the default model and writes one
self-contained HTML report. Each capability adds a section module to ``SECTION_MODULES``; a module
exposes ``build(ctx: DemoContext) -> ReportSection | None`` (None when its data or extra is absent).
"""

from .runner import SECTION_MODULES, DemoContext, run_demo

__all__ = ["SECTION_MODULES", "DemoContext", "run_demo"]
