"""Small, escaped HTML builders used by ``_repr_mimebundle_`` of result objects."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

STATUS_COLOURS = {"active": "#1a7f37", "degraded": "#9a6700", "down": "#cf222e", "unknown": "#6e7781"}


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS["unknown"])
    return (
        f'<span class="dataask-badge dataask-{esc(status)}" style="display:inline-block;padding:0 6px;'
        f'border-radius:8px;color:#fff;background:{colour};font-size:85%">{esc(status)}</span>'
    )


def html_table(columns: Sequence[str], rows: Iterable[Sequence], *, raw_columns: Iterable[int] = (), caption: str = "") -> str:
    """An HTML table; cells are escaped except the column indexes in ``raw_columns`` (pre-built HTML)."""
    raw = set(raw_columns)
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if i in raw else esc(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    cap = f"<caption style='caption-side:bottom;text-align:left'>{esc(caption)}</caption>" if caption else ""
    return f'<table class="dataask-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
