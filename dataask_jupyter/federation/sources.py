"""What the federation engine needs from a connection, plus a generic DB-API adapter.

The connection manager hands the engine one :class:`FederationSource` per connection
name. Anything that can list its tables, describe their columns and run a SELECT into
Arrow qualifies; :class:`DBAPISource` turns any DB-API 2.0 ``connect()`` callable into
one (subclasses add catalog queries and a server-side cancel).

Thread-safety contract: ``fetch_arrow`` may be called from worker threads (the executor
never runs two fetches on one source at the same time unless configured to), and
``cancel`` is called from another thread while a fetch is in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from ..connections.base import rows_to_arrow
from ..connections.sanitize import sanitize_error

__all__ = [
    "DBAPISource",
    "FederationSource",
    "rows_to_arrow",
    "sanitize_message",
]


@runtime_checkable
class FederationSource(Protocol):
    """One connection as the federation engine sees it.

    Attributes
    ----------
    name
        Connection name, e.g. ``"shop_crm"``.
    dialect
        sqlglot dialect: ``"duckdb"``, ``"sqlite"``, ``"postgres"``, ``"mysql"``,
        ``"bigquery"`` or ``"snowflake"``.
    identity
        Stable identity for cache keys (e.g. the URL without password); it must change
        when the source's data or target changes.
    """

    name: str
    dialect: str
    identity: str

    def list_tables(self) -> list[str]:
        """Tables as ``"table"`` or ``"schema.table"``."""
        ...

    def table_columns(self, table: str) -> dict[str, str]:
        """Column name to type name, in table order."""
        ...

    def fetch_arrow(
        self, sql: str, *, timeout: float | None = None, max_rows: int | None = None
    ) -> pa.Table:
        """Run one read query in the source's dialect and return Arrow."""
        ...

    def cancel(self) -> None:
        """Cancel in-flight queries (server-side where possible)."""
        ...


# --------------------------------------------------------------------------- sanitizing


def sanitize_message(text: object, secrets: Iterable[str] = ()) -> str:
    """Remove credentials and URIs from an error message (the connections' sanitizer)."""
    return sanitize_error(str(text), secrets)


# --------------------------------------------------------------------------- DB-API adapter


class DBAPISource:
    """A :class:`FederationSource` over any DB-API 2.0 driver.

    Each fetch opens its own connection from ``connect`` (so fetches never share a
    connection across threads) and ``cancel`` interrupts all of them.

    Parameters
    ----------
    name, dialect, identity
        See :class:`FederationSource`.
    connect
        Zero-argument callable returning a new DB-API connection.
    fetch_batch
        Rows per ``fetchmany`` call.
    secrets
        Strings to mask in error messages raised by this source.

    Notes
    -----
    Subclasses implement :meth:`list_tables` and :meth:`table_columns` and may override
    :meth:`_interrupt` (server-side cancel) and :meth:`_prepare` (statement timeout,
    read-only session).
    """

    def __init__(
        self,
        name: str,
        dialect: str,
        identity: str,
        connect: Callable[[], Any],
        *,
        fetch_batch: int = 10_000,
        secrets: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.dialect = dialect
        self.identity = identity
        self._connect = connect
        self._fetch_batch = fetch_batch
        self._secrets = tuple(secrets)
        self._lock = threading.Lock()
        self._active: set[Any] = set()

    # -- hooks --------------------------------------------------------------------------
    def list_tables(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def table_columns(self, table: str) -> dict[str, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare(self, conn: Any, timeout: float | None) -> None:
        """Configure a fresh connection before the query runs (timeouts, read-only)."""

    def _interrupt(self, conn: Any) -> None:
        """Cancel whatever ``conn`` is running; the default closes it."""
        conn.close()

    # -- protocol -----------------------------------------------------------------------
    def fetch_arrow(
        self, sql: str, *, timeout: float | None = None, max_rows: int | None = None
    ) -> pa.Table:
        """Run ``sql`` on a new connection and return at most ``max_rows`` rows as Arrow."""
        conn = self._connect()
        with self._lock:
            self._active.add(conn)
        try:
            self._prepare(conn, timeout)
            cur = conn.cursor()
            cur.execute(sql)
            names = [d[0] for d in cur.description or ()]
            rows: list[Sequence[Any]] = []
            while max_rows is None or len(rows) < max_rows:
                want = self._fetch_batch if max_rows is None else min(self._fetch_batch, max_rows - len(rows))
                batch = cur.fetchmany(want)
                if not batch:
                    break
                rows.extend(batch)
            cur.close()
            return rows_to_arrow(names, rows)
        finally:
            with self._lock:
                self._active.discard(conn)
            try:
                conn.close()
            except Exception:  # closing after an interrupt may fail
                pass

    def cancel(self) -> None:
        """Interrupt every in-flight fetch of this source."""
        with self._lock:
            active = list(self._active)
        for conn in active:
            try:
                self._interrupt(conn)
            except Exception:  # best effort
                pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.dialect})>"
