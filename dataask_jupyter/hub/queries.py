"""One read-only statement on a named connection, run by the service for a team-mode kernel.

The kernel has no key, so it cannot open connections itself: it sends the SQL, the service
runs it through its :class:`~dataask_jupyter.connections.ConnectionManager` (the shared
read-only guard in the connection's dialect, read-only session, row cap, statement timeout
cancelled server-side, usage stats) and answers with the rows as an Arrow IPC stream. Every
run, and every refusal, is audited as ``query.run`` with a hash of the SQL, never the SQL,
rows or credentials.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import pyarrow as pa

from ..errors import DataAskError, UnsafeSQL
from .models import ColumnsOut, QueryIn, TablesOut

__all__ = ["ARROW_STREAM", "QueryAnswer", "arrow_bytes", "columns_of", "limits", "run_query", "tables_of"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True)
class QueryAnswer:
    """What the query route sends: the Arrow stream and its metadata (also sent as headers)."""

    body: bytes
    row_count: int
    truncated: bool
    seconds: float

    def headers(self) -> dict[str, str]:
        return {"X-DataAsk-Row-Count": str(self.row_count), "X-DataAsk-Truncated": "true" if self.truncated else "false",
                "X-DataAsk-Seconds": f"{self.seconds:.6f}"}


def arrow_bytes(table: pa.Table) -> bytes:
    """``table`` as one Arrow IPC stream (schema, then its record batches)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def limits(settings, body: QueryIn) -> tuple[int, float]:
    """``(row cap, timeout)`` for ``body``: the caller may only lower the service's limits."""
    ceiling = settings.max_fetch_rows if body.fetch else settings.max_rows
    cap = ceiling if body.max_rows is None else min(body.max_rows, ceiling)
    timeout = settings.query_timeout if body.timeout is None else min(body.timeout, settings.query_timeout)
    return cap, timeout


def run_query(dataask, g, name: str, body: QueryIn) -> QueryAnswer:
    """Run ``body.sql`` on connection ``name`` of the grant's workspace for the grant's user.

    Raises
    ------
    UnsafeSQL
        The read-only guard refused the statement (nothing ran; audited as denied).
    SourceError, QueryTimeout
        The database failed or ran past the timeout (cancelled server-side).
    ConnectionNotFound
        No such connection in the workspace.
    """
    cap, timeout = limits(dataask.settings, body)
    detail = {"connection": name, "fetch": body.fetch, "sql_sha256": hashlib.sha256(body.sql.encode()).hexdigest()}
    started = time.perf_counter()
    try:
        result = dataask.connections.execute(name, body.sql, workspace=g.workspace.name, max_rows=cap,
                                             timeout=timeout, internal=body.fetch)
    except DataAskError as exc:
        dataask.repo.audit(g.actor, "query.run", target_type="connection", target=name, workspace_id=g.workspace.id,
                           outcome="denied" if isinstance(exc, UnsafeSQL) else "error",
                           detail={**detail, "error": exc.code})
        raise
    answer = QueryAnswer(arrow_bytes(result.table), result.row_count, bool(result.truncated), result.seconds)
    dataask.repo.audit(g.actor, "query.run", target_type="connection", target=name, workspace_id=g.workspace.id,
                       detail={**detail, "rows": answer.row_count, "truncated": answer.truncated,
                               "ms": round((time.perf_counter() - started) * 1000, 1)})
    return answer


def tables_of(dataask, g, name: str) -> TablesOut:
    """The tables of connection ``name`` (the kernel's schema browser and ``%%ask`` catalog)."""
    ws = g.workspace.name
    return TablesOut(connection=name, dialect=dataask.connections.dialect(name, ws),
                     tables=dataask.connections.tables(name, ws))


def columns_of(dataask, g, name: str, table: str, *, estimate: bool = False) -> ColumnsOut:
    """Column name -> type of ``table``; with ``estimate``, the source's own row estimate too."""
    ws = g.workspace.name
    columns = dataask.connections.columns(name, table, ws)
    rows = dataask.connections.estimate_rows(name, table, ws) if estimate else None
    return ColumnsOut(connection=name, table=table, columns=columns, estimated_rows=rows)
