"""The HTML frame of a report page: head (a Content-Security-Policy that forbids every network fetch),
inline CSS, the sortable-table script, and small helpers for sections (escaping, figures, tables).

A page is one file: figures are inline SVG (dense parts as PNG data inside the SVG), the script is
inline, and nothing is loaded from anywhere (``default-src 'none'``).
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: forbids every fetch; inline style/script and data: images only. The dashboard adds connect-src.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;
background:#fafafa}
header{background:#20364f;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85;font-size:12px}header a{color:#cfe3ff}
nav.toc{font-size:12px;margin-top:6px}nav.toc a{margin-right:10px}
main{padding:8px 24px 40px;max-width:1400px}
section.section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:14px 0;
padding:6px 16px 14px}
section.section h2{font-size:16px;margin:10px 0 8px}h2.study{font-size:18px;margin:26px 0 0}
figure.plot{display:inline-block;margin:6px 12px 6px 0;vertical-align:top;max-width:100%}
figure.plot svg{max-width:100%;height:auto}figure.plot figcaption{font-size:12px;color:#555}
p.note{color:#555;font-style:italic}p.notice{background:#fff4ce;border:1px solid #e9d27a;padding:8px 12px}
table{border-collapse:collapse;font-size:12px}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f2f4f7;position:sticky;top:0}td.text,th.text{text-align:left}
table.kv td:first-child{text-align:left;color:#555;white-space:nowrap}table.kv td{text-align:left}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#e3e8f0}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
div.scroll{max-height:560px;overflow:auto;border:1px solid #eee}
tr.best td{background:#fff1f0}code,pre{font:12px ui-monospace,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:300px}
.state-FAILED{color:#b00020}.state-PRUNED{color:#8a6d00}.state-RUNNING{color:#1565c0}
"""

#: click a header of a ``table.sortable`` to sort by it (numbers numerically, missing values last)
SORT_JS = """
(function(){
  function key(cell, numeric){
    var v = cell.getAttribute('data-v');
    if (v === null || v === '') return null;
    return numeric ? parseFloat(v) : v.toLowerCase();
  }
  function sortBy(table, col, th){
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var numeric = th.getAttribute('data-type') === 'num';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function(r, i){ return [key(r.cells[col], numeric), i, r]; });
    keyed.sort(function(a, b){
      if (a[0] === null || b[0] === null) return (a[0] === null) - (b[0] === null) || a[1] - b[1];
      if (a[0] < b[0]) return asc ? -1 : 1;
      if (a[0] > b[0]) return asc ? 1 : -1;
      return a[1] - b[1];
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function(k){ frag.appendChild(k[2]); });
    body.appendChild(frag);
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function(table){
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function(th, col){
      th.addEventListener('click', function(){ sortBy(table, col, th); });
      th.addEventListener('keydown', function(e){ if (e.key === 'Enter') sortBy(table, col, th); });
    });
  });
})();
"""


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
    """A table; ``headers`` are ``(title, "num"|"text")``; each cell is ``(sort value, html)``."""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(
        f'<th scope="col" data-type="{kind}" class="{kind}"{" tabindex=0" if sortable else ""}>{esc(t)}</th>'
        for t, kind in headers
    )
    kinds = [kind for _, kind in headers]
    lines = []
    for i, row in enumerate(rows):
        rc = row_class(i) if row_class else ""
        cells = "".join(
            f'<td class="{kind}" data-v="{esc("" if v is None else v)}">{h}</td>'
            for (v, h), kind in zip(row, kinds, strict=True)
        )
        lines.append(f"<tr{f' class={chr(34)}{rc}{chr(34)}' if rc else ''}>{cells}</tr>")
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


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
        f"<script>{SORT_JS}{script}</script></body></html>"
    )
