"""The connection manager of a team-mode kernel: every statement runs on the Hub service.

A team-mode kernel has no key, so it cannot decrypt credentials or open a connection. It
sees connection records without secrets, and sends each statement to the service's query
route (``POST connections/{name}/query``), which runs it through the service's own
:class:`~.manager.ConnectionManager` (read-only guard, read-only session, row cap, statement
timeout cancelled server-side, audit) and answers with Arrow IPC. ``%%federate`` works
unchanged: :func:`~.sources.managed_sources` over this manager pushes the per-source SQL to
the service and joins locally in DuckDB. Adding, testing and removing connections call the
existing connection routes (the service tests before it saves, and encrypts).

Cancelling: a kernel interrupt stops waiting at once (:class:`QueryCancelled`); the statement
itself is stopped by the service's statement timeout (the timeout sent with it, at most the
service's ``DATAASK_QUERY_TIMEOUT``), not by a cancel over HTTP.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import urllib.parse

import pyarrow as pa

from ..config import Settings
from ..errors import ConnectionNotFound, DataAskError, QueryCancelled, UsageError, did_you_mean
from ..store import DEFAULT_WORKSPACE, ConnectionRecord
from ..store.records import UsageTotals
from ..store.remote import RemoteRepository, connection_record
from .health import ConnectionHealth
from .info import ConnectionInfo, ConnectionList, QueryResult
from .manager import ConnectionManager, TestResult, validate_name
from .registry import connector_for

__all__ = ["ARROW_STREAM", "RemoteConnectionManager", "info_from_dict"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
# a reduced %%federate fetch, as the engine builds it: SELECT * FROM (\n<fetch>\n) AS __r WHERE <key lists>
_REDUCED_HEAD, _REDUCED_TAIL = "SELECT * FROM (\n", "\n) AS __r WHERE "
ROWS_TTL = 10.0  # seconds the connection list is reused (one question asks for it many times)
SCHEMA_TTL = 60.0  # seconds tables and columns are reused
ESTIMATE_TTL = 300.0
ANSWER_GRACE = 15.0  # seconds past the statement timeout before the kernel stops waiting


def _when(value):
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None


def guardable(sql: str, check: bool) -> str:
    """``sql``, or the fetch inside a reduced ``%%federate`` fetch too long for the service's guard.

    The engine guards a reduced fetch's wrapper once and builds its key lists itself
    (``check=False``); the service guards every statement whole and refuses SQL longer than
    :data:`~dataask_jupyter.safety.MAX_SQL_CHARS`. Such a fetch runs unreduced: its inner
    SQL returns a superset of the rows, and the local join still decides (same results,
    more rows moved).
    """
    from ..safety import MAX_SQL_CHARS

    if check or len(sql) <= MAX_SQL_CHARS or not sql.startswith(_REDUCED_HEAD):
        return sql
    cut = sql.rfind(_REDUCED_TAIL)
    return sql[len(_REDUCED_HEAD):cut] if cut > len(_REDUCED_HEAD) else sql


def info_from_dict(d: dict) -> ConnectionInfo:
    """A :class:`ConnectionInfo` from the service's JSON (``ConnectionInfo.to_dict``)."""
    fields = {f.name for f in dataclasses.fields(ConnectionHealth)}
    health = {k: v for k, v in (d.get("health") or {}).items() if k in fields}
    for key in ("last_success_at", "last_checked_at"):
        health[key] = _when(health.get(key))
    usage = {k: int(v) for k, v in (d.get("usage") or {}).items() if k in ("queries", "rows", "bytes", "errors")}
    return ConnectionInfo(name=d["name"], workspace=d["workspace"], family=d["family"], dialect=d["dialect"],
                          url=d["url"], health=ConnectionHealth(**{"status": "unknown", **health}),
                          usage=UsageTotals(**usage), created_at=_when(d.get("created_at")),
                          updated_at=_when(d.get("updated_at")))


class RemoteConnectionManager:
    """What :class:`~.manager.ConnectionManager` offers a kernel, over the Hub service.

    Parameters
    ----------
    settings
        The kernel's settings (its ``query_timeout`` and row caps are sent with each
        statement; the service only ever lowers them to its own).
    repo
        The :class:`~dataask_jupyter.store.remote.RemoteRepository` (its client and token).
    actor
        The kernel's user name for display; the service acts as the token's user.
    """

    def __init__(self, settings: Settings, repo: RemoteRepository, *, actor: str | None = None) -> None:
        self.settings = settings
        self.repo = repo
        self.client = repo.client
        self.actor = actor or settings.actor
        self._cache: dict[tuple, tuple[float, object]] = {}
        self._lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------------
    def _cached(self, key: tuple, ttl: float, load):
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        value = load()
        with self._lock:
            self._cache[key] = (time.monotonic(), value)
        return value

    def _forget(self, workspace: str) -> None:
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if k[1] != workspace}

    def _path(self, name: str, *rest: str) -> str:
        return "/".join(["connections", validate_name(name), *(urllib.parse.quote(r, safe="") for r in rest)])

    def _rows(self, workspace: str) -> list[dict]:
        self.repo.get_workspace(workspace)  # unknown or not a member: WorkspaceNotFound with the names to use
        return self._cached(("rows", workspace), ROWS_TTL, lambda: self.repo.connection_rows(workspace))

    # -- records and infos (never a secret) -------------------------------------------------
    def records(self, workspace: str = DEFAULT_WORKSPACE) -> list[ConnectionRecord]:
        ws_id = self.repo.get_workspace(workspace).id
        return [connection_record(ws_id, d) for d in self._rows(workspace)]

    def record(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> ConnectionRecord:
        """The record of ``name``; unknown names get a did-you-mean and the fix."""
        recs = self.records(workspace)
        rec = next((r for r in recs if r.name == name), None)
        if rec is None:
            self._forget(workspace)
            recs = self.records(workspace)
            rec = next((r for r in recs if r.name == name), None)
        if rec is None:
            names = [r.name for r in recs]
            raise ConnectionNotFound(
                f"No connection named '{name}' in workspace '{workspace}'.{did_you_mean(name, names)}",
                hint=None if did_you_mean(name, names) else
                f"Add it with: %dataask connect {name} URL (a workspace admin; the Hub service tests and saves it)")
        return rec

    def names(self, workspace: str = DEFAULT_WORKSPACE) -> list[str]:
        return [d["name"] for d in self._rows(workspace)]

    def list(self, workspace: str = DEFAULT_WORKSPACE) -> ConnectionList:
        self._forget(workspace)  # a listing shows live health: always fresh
        return ConnectionList(info_from_dict(d) for d in self._rows(workspace))

    def info(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> ConnectionInfo:
        return info_from_dict(self.client.call("GET", self._path(name), params={"workspace": workspace}))

    def dialect(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> str:
        return connector_for(self.record(name, workspace).family).dialect

    def identity(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> str:
        return self.identity_of(self.record(name, workspace))

    identity_of = staticmethod(ConnectionManager.identity_of)

    # -- schema ----------------------------------------------------------------------------------
    def tables(self, name: str, workspace: str = DEFAULT_WORKSPACE, *, fresh: bool = False) -> list[str]:
        if fresh:  # an explicit listing (%dataask tables) asks again
            self.forget_schema(name, workspace)
        return self._cached(("tables", workspace, name), SCHEMA_TTL, lambda: sorted(self.client.call(
            "GET", self._path(name, "tables"), params={"workspace": workspace})["tables"]))

    def columns(self, name: str, table: str, workspace: str = DEFAULT_WORKSPACE) -> dict[str, str]:
        """Column name -> type for ``table`` (``schema.table`` accepted)."""
        return self._cached(("columns", workspace, name, table), SCHEMA_TTL, lambda: dict(self.client.call(
            "GET", self._path(name, "tables", table), params={"workspace": workspace})["columns"]))

    def forget_schema(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> None:
        """Drop this kernel's cached tables and columns of ``name`` (the service keeps its own cache)."""
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items()
                           if not (k[0] in ("tables", "columns") and k[1] == workspace and k[2] == name)}

    def estimate_rows(self, name: str, table: str, workspace: str = DEFAULT_WORKSPACE) -> float | None:
        """The source's own row estimate (it only steers fetch order: failures give ``None``)."""
        def load():
            try:
                return self.client.call("GET", self._path(name, "tables", table),
                                        params={"workspace": workspace, "estimate": "true"})["estimated_rows"]
            except DataAskError:
                return None

        return self._cached(("estimate", workspace, name, table), ESTIMATE_TTL, load)

    # -- running -----------------------------------------------------------------------------------
    def execute(self, name: str, sql: str, *, workspace: str = DEFAULT_WORKSPACE, max_rows: int | None = None,
                timeout: float | None = None, check: bool = True, internal: bool = False,
                split=None) -> QueryResult:
        """Run one read-only statement on ``name`` through the Hub service.

        ``split`` (a way to split the fetch, offered by the federation engine) is not sent: the service
        runs the statement whole.

        The service guards it (``check=False`` only lets an engine-built reduced fetch that is
        too long for the guard run unreduced, see :func:`guardable`), caps the rows at
        ``max_rows`` and its own ``DATAASK_MAX_ROWS`` (``internal``: ``DATAASK_MAX_FETCH_ROWS``)
        and stops it server-side after ``timeout`` seconds (at most its own limit).

        Raises
        ------
        UnsafeSQL
            The service's read-only guard refused it.
        SourceError, QueryTimeout
            The database failed or ran too long.
        QueryCancelled
            Interrupted in the kernel (the service's statement timeout stops the statement).
        """
        limit = timeout or self.settings.query_timeout
        body = {"sql": guardable(sql, check), "fetch": bool(internal), "timeout": limit}
        if max_rows is not None:
            body["max_rows"] = int(max_rows)
        try:
            raw, headers = self.client.request("POST", self._path(name, "query"), body, {"workspace": workspace},
                                               accept=ARROW_STREAM, timeout=limit + ANSWER_GRACE)
        except KeyboardInterrupt:
            raise QueryCancelled(f"Stopped waiting for '{name}'; the DataAsk Hub service stops the statement at "
                                 "its time limit.") from None
        table = pa.ipc.open_stream(raw).read_all()
        truncated = (headers.get("X-DataAsk-Truncated") or "").lower() == "true"
        return QueryResult(name, sql, table, truncated, float(headers.get("X-DataAsk-Seconds") or 0.0))

    def cancel(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> None:
        """Nothing to do here: the service's statement timeout stops what a kernel gave up on."""

    # -- changes, through the service's connection routes ------------------------------------------
    def add(self, name: str, url: str, *, workspace: str = DEFAULT_WORKSPACE, password: str | None = None,
            replace: bool = False, actor: str | None = None, allow_views: bool = False) -> ConnectionInfo:
        """Ask the service to test ``url`` and save it as ``name`` (workspace admins only)."""
        validate_name(name)
        if allow_views:
            raise UsageError("--allow-views is not available from a team-mode kernel.",
                             hint="Views are a Hub service admin's decision (DATAASK_ALLOW_VIEWS=1 on the service).")
        body = {"name": name, "url": url, "replace": bool(replace)}
        if password is not None:
            body["password"] = password
        try:
            return info_from_dict(self.client.call("POST", "connections", body, {"workspace": workspace}))
        finally:
            self._forget(workspace)

    def probe(self, name: str, url: str, *, workspace: str = DEFAULT_WORKSPACE, password: str | None = None,
              replace: bool = False) -> TestResult:
        """Test ``url`` on the service as :meth:`add` would, and save nothing."""
        body = {"url": url, "replace": bool(replace), **({"password": password} if password is not None else {})}
        try:
            out = self.client.call("POST", self._path(name, "test"), body, {"workspace": workspace})
        except DataAskError as exc:
            return TestResult(False, None, str(exc))
        return TestResult(bool(out["ok"]), out.get("latency_ms"), out.get("message"))

    def test(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> TestResult:
        """Ping ``name`` on the service (workspace editors)."""
        try:
            out = self.client.call("POST", self._path(name, "test"), {}, {"workspace": workspace})
        except DataAskError as exc:
            return TestResult(False, None, exc.message)
        return TestResult(bool(out["ok"]), out.get("latency_ms"), out.get("message"))

    def remove(self, name: str, workspace: str = DEFAULT_WORKSPACE, *, actor: str | None = None) -> None:
        try:
            self.client.call("DELETE", self._path(name), params={"workspace": workspace})
        finally:
            self._forget(workspace)

    # -- not from a kernel ------------------------------------------------------------------------
    def backend(self, name: str, workspace: str = DEFAULT_WORKSPACE):
        raise UsageError("A team-mode kernel has no live ibis backend: its queries run on the DataAsk Hub service.",
                         hint=f"Run SQL with %dataask sql {name} SELECT ... or %%federate.")

    def writable(self, name: str, workspace: str = DEFAULT_WORKSPACE):
        raise UsageError("Saving views is not available from a team-mode kernel.",
                         hint="Views are created where the credentials are: on the DataAsk Hub service.")

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
