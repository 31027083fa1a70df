"""A report page: the registered sections (:mod:`nasforge.report.sections`) for one or several studies.

``render([study])`` is the single-study page; ``render([a, b, ...])`` puts the comparison sections
first (a summary row per study, incumbents overlaid), then each study's own sections.
"""

from __future__ import annotations

from collections.abc import Sequence

from nasforge.report.data import StudyData
from nasforge.report.html import CSP, esc, page
from nasforge.report.sections import Context, Section, ordered


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _wrap(section: Section, body: str, anchor: str) -> str:
    return (
        f'<section class="section" id="{esc(anchor)}" data-section="{esc(section.name)}">'
        f"<h2>{esc(section.title)}</h2>{body}</section>"
    )


def study_body(study: StudyData, index: int = 0) -> tuple[str, list[tuple[str, str]]]:
    """The HTML of one study's sections and its table-of-contents entries."""
    ctx = Context(index)
    parts, toc = [], []
    for section in ordered("study"):
        body = section.render(study, ctx)
        if body is None:
            continue
        anchor = f"{slug(study.name)}-{index}-{section.name}"
        parts.append(_wrap(section, body, anchor))
        toc.append((anchor, section.title))
    return "".join(parts), toc


def body(studies: Sequence[StudyData]) -> tuple[str, list[tuple[str, str]]]:
    """Page body and table of contents for ``studies``."""
    if len(studies) == 1:
        return study_body(studies[0])
    ctx = Context(0)
    parts, toc = [], []
    for section in ordered("comparison"):
        fragment = section.render(list(studies), ctx)
        if fragment is not None:
            parts.append(_wrap(section, fragment, f"cmp-{section.name}"))
            toc.append((f"cmp-{section.name}", section.title))
    for i, study in enumerate(studies, start=1):
        anchor = f"study-{slug(study.name)}-{i}"
        inner, _ = study_body(study, i)
        parts.append(
            f'<div class="study" data-study="{esc(study.name)}"><h2 class="study" id="{esc(anchor)}">'
            f"Study {esc(study.name)}</h2>{inner}</div>"
        )
        toc.append((anchor, study.name))
    return "".join(parts), toc


def render(studies: Sequence[StudyData], *, csp: str = CSP, script: str = "", nav: str = "") -> str:
    """The whole HTML page of ``studies`` (one self-contained document)."""
    names = ", ".join(s.name for s in studies)
    title = f"nasforge report: {names}" if len(studies) == 1 else f"nasforge comparison: {names}"
    stores = sorted({s.store for s in studies if s.store})
    subtitle = nav + (f"store {esc(', '.join(stores))}" if stores else "")
    content, toc = body(studies)
    return page(title, subtitle, toc, content, csp=csp, script=script)
