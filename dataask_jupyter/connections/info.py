"""Typed objects the connection API returns, with JSON and notebook renderings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from ..display.html import badge, esc, html_table
from ..store.records import UsageTotals
from .health import ConnectionHealth


@dataclass(frozen=True)
class ConnectionInfo:
    """One named connection as users see it: never a password, only a mask."""

    name: str
    workspace: str
    family: str
    dialect: str
    url: str  # masked
    health: ConnectionHealth
    usage: UsageTotals = field(default_factory=UsageTotals)
    live_tested: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None  # changes whenever the connection is re-pointed (cache keys)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "workspace": self.workspace,
            "family": self.family,
            "dialect": self.dialect,
            "url": self.url,
            "health": self.health.to_dict(),
            "usage": {"queries": self.usage.queries, "rows": self.usage.rows, "bytes": self.usage.bytes,
                      "errors": self.usage.errors},
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    def _repr_mimebundle_(self, include=None, exclude=None):
        return ConnectionList([self])._repr_mimebundle_(include, exclude)


class ConnectionList(list):
    """A list of :class:`ConnectionInfo` that renders as a status table in notebooks."""

    def to_dict(self) -> list[dict]:
        return [c.to_dict() for c in self]

    def _rows(self):
        for c in self:
            h = c.health
            lat = f"{h.latency_p50_ms:.1f} / {h.latency_p95_ms:.1f} ms" if h.latency_p50_ms is not None else "–"
            yield c, lat

    def _repr_mimebundle_(self, include=None, exclude=None):
        if not self:
            text = "No connections yet. Add one with: %dataask connect NAME URL"
            return {"text/plain": text, "text/html": f"<p>{esc(text)}</p>"}
        rows, lines = [], []
        for c, lat in self._rows():
            title = esc(c.health.last_error or "")
            rows.append(
                (c.name, c.family, f'<span title="{title}">{badge(c.health.status)}</span>', lat,
                 c.usage.queries, c.health.error_count, c.url)
            )
            lines.append(f"{c.name:<20} {c.family:<9} {c.health.status:<9} {lat:<22} {c.url}")
        cols = ["name", "type", "status", "latency p50 / p95", "queries", "errors", "url"]
        return {"text/plain": "\n".join(lines), "text/html": html_table(cols, rows, raw_columns=[2])}


def table_rows(table: pa.Table) -> list[list]:
    """Rows of ``table`` as lists (keeps duplicate column names, unlike ``to_pylist``)."""
    return [list(r) for r in zip(*(col.to_pylist() for col in table.columns), strict=True)] if table.num_columns else []


@dataclass
class QueryResult:
    """Rows returned by one query on one connection."""

    connection: str
    sql: str
    table: pa.Table
    truncated: bool
    seconds: float
    started_at: float = field(default_factory=time.time)

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def row_count(self) -> int:
        return self.table.num_rows

    def to_pandas(self):
        return self.table.to_pandas()

    def to_dict(self, max_rows: int | None = None) -> dict:
        table = self.table if max_rows is None else self.table.slice(0, max_rows)
        rows = table_rows(table)
        return {
            "connection": self.connection,
            "columns": self.columns,
            "rows": rows,
            "row_count": self.row_count,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 4),
        }

    def _repr_mimebundle_(self, include=None, exclude=None, max_rows: int = 50):
        shown = table_rows(self.table.slice(0, max_rows))
        note = f"{self.row_count} row(s){' (truncated at the row cap)' if self.truncated else ''} in {self.seconds:.3f} s"
        if self.row_count > max_rows:
            note += f"; showing the first {max_rows}"
        html = html_table(self.columns, shown, caption=note)
        return {"text/plain": f"{note}\n{self.to_pandas().head(max_rows).to_string()}", "text/html": html}
