"""Matplotlib figures as inline SVG (for HTML) or files (PNG / SVG / PDF), on the Agg backend.

Inline SVG keeps text as text (``svg.fonttype = none``: smaller, selectable), strips the XML prologue
and metadata (no external references), and prefixes every element id (and reference to one) with the
figure's key, so several figures on one page never share an id. Dense artists (thousands of markers
or lines) are rasterised by the figure functions themselves so a 1,000-trial page stays light.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from nasforge.errors import ConfigError

#: file suffixes :func:`save` writes
FORMATS = ("png", "svg", "pdf")
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_ID = re.compile(r'(\bid="|url\(#|href="#)([^"()]+)')


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def new_figure(width: float = 6.4, height: float = 3.6) -> tuple[Any, Any]:
    """A figure with one axes (closed by :func:`to_svg` / :func:`save`)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def to_svg(fig: Any, key: str, title: str = "") -> str:
    """The figure as an ``<svg>`` element for inline HTML; closes the figure.

    ``key`` salts the element ids (use one key per figure of a page); ``title`` becomes the
    accessible name (``aria-label``).
    """
    import matplotlib

    plt = pyplot()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = _METADATA.sub("", _PROLOGUE.sub("", buf.getvalue(), count=1), count=1)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in key)
    text = _ID.sub(lambda m: f"{m.group(1)}{safe}-{m.group(2)}", text)  # ids unique on the page
    attrs = f'class="fig" data-figure="{safe}" role="img" aria-label="{_attr(title or key)}"'
    return text.replace("<svg ", f"<svg {attrs} ", 1)


def check_path(path: str | Path) -> str:
    """The format named by ``path``'s suffix; :class:`ConfigError` for an unknown one."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ConfigError(
            f"--out must end in one of {['.' + f for f in FORMATS]}, got {str(path)!r}; "
            "e.g. --out incumbent.png"
        )
    return suffix


def save(fig: Any, path: str | Path, dpi: int = 130) -> None:
    """Write the figure to ``path`` (format from the suffix); closes the figure."""
    fmt = check_path(path)
    plt = pyplot()
    try:
        fig.savefig(str(path), format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)


def _attr(text: str) -> str:
    import html

    return html.escape(text, quote=True)
