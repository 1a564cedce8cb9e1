"""A self-contained HTML report: every image is embedded, nothing is fetched, it opens offline."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..io.atomic import atomic_write_text

__all__ = ["Report", "ReportSection", "figure_to_data_uri", "image_to_data_uri", "png_file_to_data_uri"]


def image_to_data_uri(image: Image.Image | np.ndarray, fmt: str = "PNG") -> str:
    """Encode an image as a ``data:`` URI for embedding in HTML."""
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    buf = io.BytesIO()
    pil.save(buf, format=fmt)
    mime = "image/png" if fmt.upper() == "PNG" else f"image/{fmt.lower()}"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def png_file_to_data_uri(path: Path) -> str:
    """A PNG file on disk as a ``data:`` URI, its bytes as they are (no decode and re-encode)."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


#: No text in a report figure is rendered smaller than this many pixels (about 9 pt on a 96-dpi screen).
MIN_TEXT_PX = 12.0


def figure_to_data_uri(fig: object, dpi: int = 100, fmt: str = "png") -> str:
    """Encode a matplotlib figure as a ``data:`` URI and close it.

    Text smaller than :data:`MIN_TEXT_PX` pixels at ``dpi`` is enlarged to that size first, so that titles
    and labels stay readable when the figure is shown at its natural size.

    Args:
        fig: the figure.
        dpi: resolution of the picture.
        fmt: ``"png"`` (lossless: charts, fine gradients) or ``"jpeg"`` (quality 90, for figures that are
            mostly photographs with heat maps over them: about a fifth of the PNG's size, which is what keeps
            a self-contained report small enough to mail).
    """
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"fmt: expected 'png' or 'jpeg', got {fmt!r}")
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    smallest_pt = MIN_TEXT_PX * 72.0 / dpi
    for text in fig.findobj(Text):  # type: ignore[attr-defined]
        if text.get_text() and text.get_fontsize() < smallest_pt:
            text.set_fontsize(smallest_pt)
    buf = io.BytesIO()
    if fmt == "png":
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")  # type: ignore[attr-defined]
    else:
        fig.savefig(  # type: ignore[attr-defined]
            buf, format="jpeg", dpi=dpi, bbox_inches="tight", facecolor="white", pil_kwargs={"quality": 90}
        )
    plt.close(fig)  # type: ignore[arg-type]
    return f"data:image/{fmt};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass
class ReportSection:
    """One titled section of the report; ``body`` is trusted HTML built by netloupe."""

    title: str
    body: str
    anchor: str = ""

    def __post_init__(self) -> None:
        if not self.anchor:
            self.anchor = "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0;font-size:24px}
header p{margin:4px 0 0;color:#b9c1d6}nav{padding:8px 32px;background:#e9ecf5}nav a{margin-right:16px;color:#2a4fb0}
main{padding:8px 32px 48px;max-width:1400px}section{background:#fff;border-radius:10px;padding:16px 20px;margin:18px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}h2{margin-top:0}
figure{display:inline-block;margin:6px;vertical-align:top;text-align:center}
figure img{max-width:100%;border-radius:6px}figcaption{font-size:13px;color:#4a5368;max-width:260px;margin:auto}
table{border-collapse:collapse;font-size:14px}td,th{border-bottom:1px solid #e3e6ee;padding:4px 10px;text-align:left}
th{background:#f0f2f8}.note{color:#4a5368;font-size:14px}.mono{font-family:ui-monospace,monospace}
"""


@dataclass
class Report:
    """An HTML report assembled from sections."""

    title: str
    subtitle: str = ""
    sections: list[ReportSection] = field(default_factory=list)

    def add(self, section: ReportSection) -> None:
        self.sections.append(section)

    def to_html(self) -> str:
        nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in self.sections)
        body = "".join(
            f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{s.body}</section>' for s in self.sections
        )
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(self.title)}</title>"
            f"<style>{_STYLE}</style></head><body><header><h1>{html.escape(self.title)}</h1>"
            f"<p>{html.escape(self.subtitle)}</p></header><nav>{nav}</nav><main>{body}</main></body></html>"
        )

    def write(self, path: str | Path) -> Path:
        """Write atomically: a half-written report never replaces a good one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_text(path, self.to_html())


def img_html(uri: str, alt: str, style: str = "") -> str:
    """An ``<img>`` with (escaped) alt text; ``alt`` must say what the image shows."""
    if not alt.strip():
        raise ValueError("alt: expected a description of the image, got an empty string")
    css = f" style='{html.escape(style)}'" if style else ""
    return f"<img src='{uri}' alt='{html.escape(alt)}'{css}>"


def figure_html(uri: str, caption: str = "", width: int | None = None) -> str:
    """An ``<figure>`` with an embedded image and an escaped caption."""
    style = f" style='width:{width}px'" if width else ""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f"<figure><img src='{uri}'{style} alt='{html.escape(caption)}'>{cap}</figure>"


def table_html(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain HTML table with escaped cells."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


__all__ += ["MIN_TEXT_PX", "figure_html", "img_html", "table_html"]
