"""What every connector family provides, and the pieces they share.

A connector opens a read-only DB-API connection itself (so DataAsk controls the effective
connect arguments), wraps it in the matching ibis backend with ``from_connection``, and
knows how to run one query with a row cap, cancel it, and ping. Dialect differences are
data on the class (``dialect``, ``default_port``, ``disconnect_markers``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import gc
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..config import Settings
from .policy import ResolvedTarget
from .url import ParsedURL


@dataclass
class OpenedBackend:
    """One live connection: the ibis backend plus what cancel/reconnect need."""

    backend: Any  # an ibis BaseBackend
    raw: Any  # the DB-API connection under it
    lock: threading.Lock = field(default_factory=threading.Lock)
    extra: dict = field(default_factory=dict)


@dataclass
class FetchResult:
    table: pa.Table
    truncated: bool


_SIMPLE = (bool, int, float, str, bytes, decimal.Decimal, dt.date, dt.datetime, dt.time, dt.timedelta)


# pyarrow's type inference costs ~4 µs per Python int; naming the type up front is 80x faster
_HINTS = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string(), bytes: pa.binary()}


def _hinted(values: list) -> pa.Array | None:
    first = next((v for v in values if v is not None), None)
    hint = _HINTS.get(type(first))
    if hint is None:
        return None
    try:
        return pa.array(values, type=hint)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return None  # mixed types (SQLite), huge ints: let pyarrow infer


def _column(values: list) -> pa.Array:
    hinted = _hinted(values)
    if hinted is not None:
        return hinted
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        # mixed or exotic types (UUID, JSON, ranges, huge decimals): show them as text
        return pa.array([None if v is None else (v if isinstance(v, str) else str(v)) for v in values], pa.string())


def rows_to_arrow(names: list[str], rows: list[tuple]) -> pa.Table:
    """Build an Arrow table from DB-API rows; duplicate column names are kept."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    arrays = [_column(list(col)) if rows else pa.array([], pa.null()) for col in columns]
    return pa.Table.from_arrays(arrays, names=list(names))


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while DB-API rows become Arrow.

    A fetch creates one tuple per row; with the collector on, those allocations trigger
    collections that walk every live tuple again and again (150k SQLite rows spent 0.3 s of
    0.45 s converting in collections). Row tuples hold no cycles, so nothing is lost. Nested
    and concurrent fetches share one pause; the collector resumes when the last one ends.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def fetch_capped(cursor, max_rows: int) -> FetchResult:
    """Fetch at most ``max_rows`` rows from an executed DB-API cursor; flag truncation."""
    names = [d[0] for d in cursor.description or []]
    with gc_paused():
        rows = cursor.fetchmany(max_rows + 1) if max_rows >= 0 else cursor.fetchall()
        truncated = len(rows) > max_rows
        return FetchResult(rows_to_arrow(names, [tuple(r) for r in rows[:max_rows]]), truncated)


class Connector:
    """Base connector. Subclasses set the class attributes and implement ``open``/``run``."""

    family: str = ""
    dialect: str = ""
    default_port: int | None = None
    live_tested: bool = True
    disconnect_markers: tuple[str, ...] = ("connection", "closed", "terminat", "server", "broken pipe", "gone away")

    def open(
        self, parsed: ParsedURL, target: ResolvedTarget | None, settings: Settings, password: str | None = None
    ) -> OpenedBackend:
        raise NotImplementedError

    def run(self, opened: OpenedBackend, sql: str, max_rows: int, timeout: float | None) -> FetchResult:
        raise NotImplementedError

    def run_split(self, opened: OpenedBackend, sql: str, split, sessions: int, max_rows: int,
                  timeout: float | None) -> FetchResult:
        """Run ``sql``, in parts on up to ``sessions`` sessions where the database gains by it.

        ``split`` is a :class:`~dataask_jupyter.federation.split.KeySplit` or ``ScanSplit`` of
        ``sql``. The default runs ``sql`` whole; PostgreSQL overrides it.
        """
        return self.run(opened, sql, max_rows, timeout)

    def cancel(self, opened: OpenedBackend) -> None:
        """Cancel whatever query runs on ``opened`` (server-side where the database allows)."""

    def estimate_rows(self, opened: OpenedBackend, schema: str | None, table: str) -> float | None:
        """The database's own cheap row estimate for ``table`` (statistics, not COUNT(*)); None if unknown."""
        return None

    def ping(self, opened: OpenedBackend, timeout: float | None = None) -> None:
        self.run(opened, "SELECT 1", 1, timeout)

    def close(self, opened: OpenedBackend) -> None:
        try:
            opened.raw.close()
        except Exception:  # closing a dead connection must never raise
            pass

    def is_disconnect(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return any(marker in text for marker in self.disconnect_markers)
