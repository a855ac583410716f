"""The result of a federated run: Arrow table, per-source stats, timings, serializers.

Display belongs to the magics layer; this object offers ``to_pandas``, a JSON shape
(``to_dict``, the ``dataask federate --json`` output) and an escaped HTML table.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from .model import FederationPlan

__all__ = ["FederatedResult", "FetchStats", "json_value"]


@dataclass(frozen=True)
class FetchStats:
    """What one source did for one run (feeds the connection usage stats).

    Attributes
    ----------
    source, sql
        Connection name and the SQL it ran (its own dialect).
    rows, bytes, seconds
        Rows and Arrow bytes fetched and wall time; on a cache hit, the numbers of the
        run that filled the cache with ``seconds`` 0 and ``cached`` true.
    """

    source: str
    sql: str
    rows: int
    bytes: int
    seconds: float
    name: str = ""
    kind: str = ""
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The CLI JSON shape: ``source``, ``sql``, ``rows``, ``bytes``, ``seconds``."""
        return {"source": self.source, "sql": self.sql, "rows": self.rows, "bytes": self.bytes,
                "seconds": round(self.seconds, 6)}


def json_value(value: Any) -> Any:
    """A JSON-safe version of one Arrow/Python value."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


@dataclass
class FederatedResult:
    """Answer of :meth:`~dataask_jupyter.federation.executor.Federator.run`.

    Attributes
    ----------
    table
        The result as Arrow (column names as DuckDB names them for the statement).
    columns, row_count, truncated
        Column names, rows in ``table``, whether ``max_rows`` cut the result.
    plan
        Per-source :class:`FetchStats`, in plan order.
    cache
        ``"hit"``, ``"miss"`` or ``"off"``.
    seconds
        ``{"plan", "fetch", "join", "total"}`` wall times.
    federation_plan
        The :class:`FederationPlan` that ran.
    """

    table: pa.Table
    columns: list[str]
    row_count: int
    truncated: bool
    plan: list[FetchStats]
    cache: str
    seconds: dict[str, float]
    federation_plan: FederationPlan | None = None
    notes: list[str] = field(default_factory=list)

    def to_pandas(self):
        """The result as a pandas DataFrame (duplicate column names kept)."""
        return self.table.to_pandas()

    def rows(self, max_rows: int | None = None) -> list[list[Any]]:
        """Rows as lists of JSON-safe values."""
        table = self.table if max_rows is None else self.table.slice(0, max_rows)
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return [[json_value(v) for v in row] for row in zip(*columns, strict=True)] if columns else []

    def to_dict(self, max_rows: int | None = None) -> dict[str, Any]:
        """The ``dataask federate --json`` object.

        Parameters
        ----------
        max_rows
            Include at most this many rows (``row_count`` still counts all of them).
        """
        return {
            "columns": list(self.columns),
            "rows": self.rows(max_rows),
            "row_count": self.row_count,
            "truncated": self.truncated,
            "plan": [s.to_dict() for s in self.plan],
            "cache": self.cache,
            "seconds": {k: round(v, 6) for k, v in self.seconds.items()},
        }

    def stats(self) -> list[dict[str, Any]]:
        """Per-source stats as dicts (for usage accounting)."""
        return [asdict(s) for s in self.plan]

    def to_html(self, max_rows: int = 50) -> str:
        """A small HTML table; every name and value is escaped with :func:`html.escape`."""
        esc = html.escape
        head = "".join(f"<th>{esc(str(c))}</th>" for c in self.columns)
        body = []
        for row in self.rows(max_rows):
            cells = "".join(
                '<td class="null">NULL</td>' if v is None else f"<td>{esc(str(v))}</td>" for v in row
            )
            body.append(f"<tr>{cells}</tr>")
        shown = min(max_rows, self.row_count)
        caption = f"{self.row_count} row{'s' if self.row_count != 1 else ''}"
        if shown < self.row_count:
            caption += f" (showing {shown})"
        if self.truncated:
            caption += ", truncated"
        timing = ", ".join(f"{esc(s.source)} {s.seconds:.2f}s" for s in self.plan)
        caption += f"; cache {esc(self.cache)}; {self.seconds.get('total', 0.0):.2f}s"
        if timing:
            caption += f" ({timing})"
        return (
            '<table class="dataask-federated">'
            f"<caption>{caption}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )
