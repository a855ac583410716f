"""Join engines: run a plan's residual SQL over the fetched Arrow tables.

:class:`DuckDBJoinEngine` (the default) opens a fresh in-memory DuckDB per run with
external file/network access and extension auto-loading off and the configuration
locked, so even SQL that slipped past the guard cannot read files, attach databases or
reach the network. It spills to a private temp directory under a memory limit.
Another engine (Spark, Trino via ibis) can implement :class:`JoinEngine` later.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Protocol

import duckdb
import pyarrow as pa

from ..errors import QueryCancelled, UsageError
from .model import FederationPlan
from .oracle import isolated_duckdb

__all__ = ["Cancellation", "DuckDBJoinEngine", "JoinEngine", "default_memory_limit"]


class Cancellation:
    """A cancel signal shared by one run's fetches and join; callbacks run once on cancel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []
        self.cancelled = False

    def on_cancel(self, callback: Callable[[], object]) -> None:
        """Register ``callback``; it runs immediately if already cancelled."""
        with self._lock:
            if not self.cancelled:
                self._callbacks.append(callback)
                return
        _quietly(callback)

    def cancel(self) -> None:
        """Signal cancellation and run every callback (errors ignored)."""
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _quietly(callback)


def _quietly(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:  # cancel paths are best effort
        pass


class JoinEngine(Protocol):
    """Runs the residual part of a :class:`FederationPlan`."""

    def run(
        self,
        plan: FederationPlan,
        fetched: Mapping[str, pa.Table],
        *,
        max_rows: int | None = None,
        cancellation: Cancellation | None = None,
    ) -> pa.Table:
        """Return the residual's result; at most ``max_rows + 1`` rows when capped.

        Returning one row more than ``max_rows`` tells the caller the result was truncated.
        """
        ...


def default_memory_limit() -> str:
    """40% of physical memory (at least 256 MB), as a DuckDB size string."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return "2GB"
    return f"{max(256, int(total * 0.4) // (1024 * 1024))}MB"


class _Opening:
    """A join connection being opened on a background thread (see :meth:`DuckDBJoinEngine.warm`)."""

    def __init__(self, opener: Callable[[], tuple[str, duckdb.DuckDBPyConnection]]) -> None:
        self._opener = opener
        self._done = threading.Event()
        self.result: tuple[str, duckdb.DuckDBPyConnection] | None = None
        threading.Thread(target=self._run, name="dataask-join-warm", daemon=True).start()

    def _run(self) -> None:
        try:
            self.result = self._opener()
        except Exception:  # the run then opens its own connection and reports the error itself
            self.result = None
        finally:
            self._done.set()

    def wait(self) -> tuple[str, duckdb.DuckDBPyConnection] | None:
        self._done.wait()
        return self.result


def _discard(slot: list) -> None:
    """Close a warmed connection nobody took and remove its spill folder."""
    opening = slot.pop() if slot else None
    opened = opening.wait() if opening is not None else None
    if opened is not None:
        spill, con = opened
        try:
            con.close()
        finally:
            shutil.rmtree(spill, ignore_errors=True)


class DuckDBJoinEngine:
    """Default engine: an isolated, throwaway in-memory DuckDB per run.

    Starting DuckDB costs 15-30 ms, which matters for small federated queries: the
    executor calls :meth:`warm` before fetching, so the connection opens while the
    sources work. Each connection still serves exactly one run.

    Parameters
    ----------
    memory_limit
        DuckDB ``memory_limit``; beyond it intermediates spill to disk.
    threads
        DuckDB worker threads (``None``: DuckDB's default, one per core).
    temp_root
        Parent folder of the per-run spill directory (``None``: the system temp dir).
    batch_rows
        Rows per Arrow batch read from the result.
    materialize
        ``False``: scan fetched Arrow tables in place; ``True``: copy them into DuckDB
        tables first (statistics, faster repeated scans); ``"auto"`` (default): scan in
        place and copy only to work around a DuckDB internal error.
    """

    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_root: str | os.PathLike[str] | None = None,
        batch_rows: int = 65_536,
        materialize: bool | str = "auto",
    ) -> None:
        self.memory_limit = memory_limit or default_memory_limit()
        self.threads = threads
        self.temp_root = None if temp_root is None else os.fspath(temp_root)
        self.batch_rows = batch_rows
        self.materialize = materialize
        self._lock = threading.Lock()
        self._slot: list[_Opening] = []  # at most one connection opened ahead of time
        self._finalizer = weakref.finalize(self, _discard, self._slot)

    def warm(self) -> None:
        """Start opening the next run's connection in the background (no-op if one is ready)."""
        with self._lock:
            if not self._slot:
                self._slot.append(_Opening(self._open))

    def close(self) -> None:
        """Close a connection opened by :meth:`warm` that no run took."""
        with self._lock:
            _discard(self._slot)

    def _open(self) -> tuple[str, duckdb.DuckDBPyConnection]:
        spill = tempfile.mkdtemp(prefix="dataask-federate-", dir=self.temp_root)
        try:
            return spill, self.connect(os.path.join(spill, "spill"))
        except BaseException:
            shutil.rmtree(spill, ignore_errors=True)
            raise

    def _take(self) -> tuple[str, duckdb.DuckDBPyConnection]:
        with self._lock:
            opening = self._slot.pop() if self._slot else None
        opened = opening.wait() if opening is not None else None
        return opened if opened is not None else self._open()

    def connect(self, spill_dir: str) -> duckdb.DuckDBPyConnection:
        """A locked, isolated connection spilling to ``spill_dir``."""
        extra: dict[str, object] = {"temp_directory": spill_dir, "memory_limit": self.memory_limit}
        if self.threads:
            extra["threads"] = self.threads
        con = isolated_duckdb(extra)
        con.execute("SET lock_configuration = true")
        return con

    def run(
        self,
        plan: FederationPlan,
        fetched: Mapping[str, pa.Table],
        *,
        max_rows: int | None = None,
        cancellation: Cancellation | None = None,
    ) -> pa.Table:
        """Register ``fetched`` and run ``plan.residual_sql``; see :class:`JoinEngine`."""
        return self.execute(plan.residual_sql, fetched, max_rows=max_rows, cancellation=cancellation)

    def execute(
        self,
        sql: str,
        tables: Mapping[str, pa.Table],
        *,
        max_rows: int | None = None,
        cancellation: Cancellation | None = None,
    ) -> pa.Table:
        """Run ``sql`` over ``tables`` (name -> Arrow) in a fresh isolated DuckDB.

        Tables are scanned in place (zero-copy). DuckDB 1.5.5 raises an internal error on
        some correlated subqueries over Arrow DECIMAL(p<=18) columns; such a run is
        repeated once with the tables copied into DuckDB (``materialize="auto"``).

        Raises
        ------
        UsageError
            DuckDB rejected the SQL (including any attempt to reach files or network).
        QueryCancelled
            ``cancellation`` fired while DuckDB was running.
        """
        try:
            return self._execute(sql, tables, max_rows, cancellation, self.materialize is True)
        except (duckdb.InternalException, duckdb.FatalException) as err:
            if self.materialize != "auto":
                raise UsageError(f"DuckDB failed on the federated query: {_first_line(err)}") from None
        try:
            return self._execute(sql, tables, max_rows, cancellation, True)
        except (duckdb.InternalException, duckdb.FatalException) as err:
            raise UsageError(f"DuckDB failed on the federated query: {_first_line(err)}") from None

    def _execute(self, sql, tables, max_rows, cancellation, materialize: bool) -> pa.Table:
        spill, con = self._take()
        if cancellation is not None:
            cancellation.on_cancel(con.interrupt)
        try:
            for name, table in tables.items():
                if materialize:
                    con.register("__arrow_input", table)
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM __arrow_input')
                    con.unregister("__arrow_input")
                else:
                    con.register(name, table)
            result = con.execute(sql)
            reader = result.to_arrow_reader(self.batch_rows)
            batches: list[pa.RecordBatch] = []
            rows = 0
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if max_rows is not None and rows > max_rows:
                    break
            table = pa.Table.from_batches(batches, schema=reader.schema)
            if max_rows is not None and table.num_rows > max_rows + 1:
                table = table.slice(0, max_rows + 1)
            return table
        except duckdb.InterruptException:
            raise QueryCancelled("The federated join was cancelled.") from None
        except (duckdb.InternalException, duckdb.FatalException):
            raise
        except duckdb.Error as err:
            if cancellation is not None and cancellation.cancelled:
                raise QueryCancelled("The federated join was cancelled.") from None
            raise UsageError(f"DuckDB could not run the federated query: {_first_line(err)}") from None
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)


def _first_line(err: Exception) -> str:
    return str(err).split("\nLINE ")[0].split("\n\nStack Trace")[0].strip()
