"""Visualisation: colour maps, overlays, figures and the self-contained HTML report."""

from .colormaps import apply_colormap
from .overlay import overlay, topk_figure
from .report import Report, ReportSection, figure_html, figure_to_data_uri, image_to_data_uri, table_html

__all__ = [
    "Report",
    "ReportSection",
    "apply_colormap",
    "figure_html",
    "figure_to_data_uri",
    "image_to_data_uri",
    "overlay",
    "table_html",
    "topk_figure",
]
