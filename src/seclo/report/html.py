"""The HTML page around a report's sections: one self-contained file, readable offline and in print.

Nothing is loaded from anywhere: the style sheet is inline, charts are inline SVG, there is no script, and a
Content-Security-Policy forbids every fetch, so opening the file makes no network request even if a later
section slipped. Every piece of user text goes through `esc`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from seclo.atomic import write_text_atomic
from seclo.report.interface import Section

__all__ = ["CSP", "Cell", "esc", "render_page", "table", "write_page"]

# Inline styles only; images only as data: URIs; nothing else at all (no scripts, fonts, frames, fetches).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_STYLE = """
:root { --met: #1a7f37; --breached: #cf222e; --alert: #bc4c00; --nodata: #6e7781; --ink: #1f2328;
        --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px 32px 64px; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 8px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h3 { font-size: 15px; margin: 20px 0 6px; }
header p { margin: 2px 0; color: #57606a; }
section { border-top: 1px solid var(--line); padding: 24px 0 8px; }
nav ul { columns: 2; padding-left: 18px; margin: 6px 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.firing td, tr.reached td { background: #fff1e5; font-weight: 600; }
tr.current td { background: #ffebe9; }
.badge { display: inline-block; border-radius: 12px; padding: 1px 10px; font-size: 13px; font-weight: 600;
         color: #fff; white-space: nowrap; }
.badge.met { background: var(--met); } .badge.breached { background: var(--breached); }
.badge.alert { background: var(--alert); } .badge.nodata { background: var(--nodata); }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0; }
.card { flex: 1 1 150px; border: 1px solid var(--line); border-left: 6px solid var(--nodata);
        border-radius: 6px; padding: 10px 14px; }
.card .count { font-size: 30px; font-weight: 700; line-height: 1.1; }
.card.met { border-left-color: var(--met); } .card.breached { border-left-color: var(--breached); }
.card.alert { border-left-color: var(--alert); }
.meta { color: #57606a; margin: 0 0 8px; }
.objective { font-size: 16px; }
.note { background: var(--soft); border-left: 4px solid var(--nodata); padding: 10px 14px; }
.figures { display: grid; grid-template-columns: 1fr; gap: 8px; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
figure.chart { margin: 8px 0; }
figure.chart svg { width: 100%; height: auto; display: block; }
figcaption { color: #57606a; font-size: 13px; }
.good { color: var(--met); font-weight: 600; } .bad { color: var(--breached); font-weight: 600; }
footer { margin-top: 32px; color: #57606a; font-size: 13px; }
@media print { section { break-inside: avoid-page; } body { max-width: none; } }
"""

Cell = str | tuple[str, str]
"""A table cell: escaped HTML, or (escaped HTML, CSS class) such as ("96.1%", "num")."""


def esc(text: object) -> str:
    """User text made safe for HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def table(headers: Sequence[Cell], rows: Iterable[tuple[Sequence[Cell], str]]) -> str:
    """An HTML table; each row is (cells, row CSS class or ""). Cells must already be escaped."""

    def css_class(css: str) -> str:
        return f' class="{css}"' if css else ""

    def cell(tag: str, value: Cell) -> str:
        text, css = (value, "") if isinstance(value, str) else value
        return f"<{tag}{css_class(css)}>{text}</{tag}>"

    head = "".join(cell("th", h) for h in headers)
    body = "".join(f"<tr{css_class(css)}>{''.join(cell('td', c) for c in cells)}</tr>" for cells, css in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_page(title: str, header: str, sections: Sequence[Section], footer: str = "") -> str:
    """The whole HTML document.

    Args:
        title: the page title, plain text.
        header: HTML shown under the title (already escaped).
        sections: rendered in order, with a table of contents linking to each.
        footer: HTML at the end of the page (already escaped).
    """
    contents = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
    body = "".join(
        f'<section id="{esc(s.anchor)}"><h2>{s.heading()}</h2>{s.html()}</section>' for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><header><h1>{esc(title)}</h1>{header}</header>"
        f"<nav><strong>Contents</strong><ul>{contents}</ul></nav>\n{body}\n"
        f"<footer>{footer}</footer></body></html>\n"
    )


def write_page(path: Path, page: str) -> None:
    """Write the page to `path` atomically (a reader sees the old report or the new one, never half), with
    the mode any new file gets (0644 under the usual umask), so it can be served or shared like any page."""
    write_text_atomic(path, page, shared=True)
