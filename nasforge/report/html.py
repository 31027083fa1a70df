"""The HTML frame of a report page: head (a Content-Security-Policy that forbids every network fetch),
inline CSS, the sortable-table script, and small helpers for sections (escaping, figures, tables).

A page is one file: figures are inline SVG (dense parts as PNG data inside the SVG), the script is
inline, and nothing is loaded from anywhere (``default-src 'none'``).
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nasforge.report.assets import CSS, PAGED_JS, SORT_JS

#: forbids every fetch; inline style/script and data: images only. The dashboard adds connect-src.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
#: rows of a paged table in the DOM at a time
PAGE_ROWS = 100


def esc(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """Compact text of a metric value (``-`` when missing)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        if abs(value) >= 1e5:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def notice(text: str) -> str:
    """A highlighted message (e.g. "no completed trial yet")."""
    return f'<p class="notice" role="status">{esc(text)}</p>'


def figure(make: Callable[[], Any], key: str, caption: str) -> str:
    """``make()``'s figure as ``<figure class="plot">`` with inline SVG, or a note saying why there
    is nothing to plot (:class:`~nasforge.report.figures.NothingToPlot`)."""
    from nasforge.report.figures import NothingToPlot
    from nasforge.report.svg import to_svg

    try:
        fig = make()
    except NothingToPlot as exc:
        return note(str(exc))
    svg = to_svg(fig, key, caption)
    return (
        f'<figure class="plot" data-kind="{esc(key)}">{svg}<figcaption>{esc(caption)}</figcaption></figure>'
    )


def kv_table(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table; values are HTML already (escape them with :func:`esc`)."""
    body = "".join(f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def data_table(
    headers: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[tuple[Any, str]]],
    sortable: bool = False,
    row_class: Callable[[int], str] | None = None,
) -> str:
    """A table; ``headers`` are ``(title, "num"|"text")``; each cell is ``(sort value, html)`` (the
    sort value matters for numbers only: text sorts by what it shows)."""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(
        f'<th scope="col" data-type="{kind}" class="{kind}"{" tabindex=0" if sortable else ""}>{esc(t)}</th>'
        for t, kind in headers
    )
    kinds = [kind for _, kind in headers]
    lines = []
    for i, row in enumerate(rows):
        rc = row_class(i) if row_class else ""
        cells = "".join(_cell(v, h, kind) for (v, h), kind in zip(row, kinds, strict=True))
        lines.append(f"<tr{f' class={chr(34)}{rc}{chr(34)}' if rc else ''}>{cells}</tr>")
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def paged_table(
    headers: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[tuple[Any, str]]],
    states: Sequence[str],
    best: int | None = None,
    page_rows: int = PAGE_ROWS,
) -> str:
    """A sortable table whose rows live in JSON and are drawn a page at a time (``PAGED_JS``).

    ``rows`` are ``(sort value, shown text)`` cells (plain text, not HTML); ``states`` give each
    row's ``data-state``; ``best`` is the index of the row to highlight.
    """
    kinds = [kind for _, kind in headers]
    keys = [[_key(row[c][0]) for row in rows] if kind == "num" else None for c, kind in enumerate(kinds)]
    spec = {
        "page": int(page_rows),
        "rows": [[str(shown) for _, shown in row] for row in rows],
        "keys": keys,
        "states": list(states),
        "best": -1 if best is None else int(best),
    }
    blob = json.dumps(spec, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    head = "".join(
        f'<th scope="col" data-type="{kind}" class="{kind}" tabindex="0">{esc(t)}</th>' for t, kind in headers
    )
    pager = (
        '<div class="pager"><button type="button" class="prev">previous</button>'
        '<button type="button" class="next">next</button>'
        '<button type="button" class="all">all rows / pages</button><span class="pos"></span></div>'
    )
    return (
        f'<div class="paged" data-rows="{len(rows)}">{pager}<div class="scroll">'
        f'<table class="sortable paged"><thead><tr>{head}</tr></thead><tbody></tbody></table></div>'
        f'<script type="application/json" class="rows">{blob}</script></div>'
    )


def _key(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value if isinstance(value, int) else float(f"{value:.6g}")


def _cell(value: Any, shown: str, kind: str) -> str:
    """One ``<td>``: numbers carry their sort key in ``data-v`` (6 significant digits; empty when
    missing, sorted last); text cells sort by their text."""
    if kind != "num":
        return f'<td class="text">{shown}</td>'
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f'<td data-v="">{shown}</td>'
    key = str(value) if isinstance(value, int) else f"{value:.6g}"
    return f'<td data-v="{key}">{shown}</td>'


def page(
    title: str, subtitle: str, toc: Sequence[tuple[str, str]], body: str, *, csp: str = CSP, script: str = ""
) -> str:
    """A whole HTML document."""
    from nasforge import __version__

    links = "".join(f'<a href="#{esc(anchor)}">{esc(text)}</a>' for anchor, text in toc)
    made = time.strftime("%Y-%m-%d %H:%M:%S")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{subtitle} · made {made} by nasforge {esc(__version__)}</p>"
        f'<nav class="toc">{links}</nav></header><main>{body}</main>'
        f"<script>{SORT_JS}{PAGED_JS}{script}</script></body></html>"
    )
