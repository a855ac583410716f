"""Many named, live, read-only connections per workspace.

One backend object per connection, created lazily and reused; pre-pinged after idling;
reconnected with bounded exponential backoff when the database went away; every query
capped in rows and time, cancellable from the caller's thread (Ctrl-C / kernel interrupt),
and recorded as a usage event. Passwords only ever exist decrypted in memory, for the call
that opens the connection.
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import threading
import time
from dataclasses import dataclass, field

from ..config import Settings
from ..crypto import CredentialCipher
from ..errors import (
    ConnectionNotFound,
    CredentialError,
    DataAskError,
    Forbidden,
    QueryCancelled,
    QueryTimeout,
    SourceError,
    UsageError,
    did_you_mean,
)
from ..store import DEFAULT_WORKSPACE, ConnectionRecord, Repository
from .base import Connector, FetchResult, OpenedBackend
from .health import Backoff, compute_health
from .info import ConnectionInfo, ConnectionList, QueryResult
from .policy import check_url
from .registry import connector_for
from .sanitize import sanitize_error
from .schema_cache import SchemaCache
from .url import MASK, ParsedURL, parse_connection_url, parse_stored_url
from .writable import ALLOW_VIEWS, WritableSession, check_admin_allows_views, open_writable

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
PREPING_AFTER_IDLE = 1.0  # seconds; pool_pre_ping without a round-trip on every call in a burst
_ESTIMATE_TTL = 300.0  # seconds a table's row estimate is reused (it only steers fetch order)
_TIMEOUT_MARKERS = ("statement timeout", "interrupt", "max_statement_time", "maximum statement execution time", "canceling statement")


@dataclass(frozen=True)
class TestResult:
    ok: bool
    latency_ms: float | None
    message: str | None = None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "latency_ms": self.latency_ms, "message": self.message}


@dataclass
class _Entry:
    record: ConnectionRecord
    connector: Connector
    opened: OpenedBackend | None = None
    last_used: float = 0.0
    secrets: tuple[str, ...] = field(default_factory=tuple)  # for sanitizing errors only
    open_lock: threading.Lock = field(default_factory=threading.Lock)  # one open at a time


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UsageError(
            f"'{name}' is not a valid connection name.",
            hint="Use letters, digits and underscores, starting with a letter (it is used as "
            "a table qualifier in %%federate, e.g. shop_sales.orders).",
        )
    return name


class ConnectionManager:
    """Owns the pool of live connections of one process. State lives here, not in globals."""

    def __init__(self, settings: Settings, repo: Repository, *, actor: str | None = None) -> None:
        self.settings = settings
        self.repo = repo
        self.actor = actor or settings.actor
        self.backoff = Backoff(deadline=settings.connect_timeout)
        self._cipher: CredentialCipher | None = None
        self._pool: dict[tuple[int, str], _Entry] = {}
        self._pool_lock = threading.Lock()
        self._estimates: dict[tuple[int, str, str], tuple[float | None, float]] = {}
        self._ws_ids: dict[str, int] = {}
        self.schemas = SchemaCache()
        self._workers = cf.ThreadPoolExecutor(max_workers=16, thread_name_prefix="dataask-query")

    # -- plumbing ------------------------------------------------------------------------
    @property
    def cipher(self) -> CredentialCipher:
        if self._cipher is None:
            self._cipher = CredentialCipher.from_settings(self.settings)
        return self._cipher

    def _ws_id(self, workspace: str, *, cached: bool = False) -> int:
        # ids never change; a cached id is stale only if the workspace was deleted (and maybe
        # re-created): record() then finds no connection and looks the id up again
        if not cached or workspace not in self._ws_ids:
            self._ws_ids[workspace] = self.repo.get_workspace(workspace).id
        return self._ws_ids[workspace]

    def record(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> ConnectionRecord:
        """The stored record of ``name``; unknown names get a did-you-mean and the fix."""
        rec = self.repo.get_connection(self._ws_id(workspace, cached=True), name)
        ws_id = self._ws_id(workspace) if rec is None else rec.workspace_id
        if rec is None:
            rec = self.repo.get_connection(ws_id, name)
        if rec is None:
            names = [c.name for c in self.repo.list_connections(ws_id)]
            raise ConnectionNotFound(
                f"No connection named '{name}'.{did_you_mean(name, names)}",
                hint=f"Add it with: dataask connection add {name} URL  (or %dataask connect {name} URL)"
                if not did_you_mean(name, names) else None,
            )
        return rec

    def _decrypt(self, rec: ConnectionRecord) -> str | None:
        if not rec.secret:
            return None
        try:
            return self.cipher.decrypt(rec.secret, connection=rec.name)
        except CredentialError:
            # another process may have rotated the key since this one loaded it: reload once
            self._cipher = None
            return self.cipher.decrypt(rec.secret, connection=rec.name)

    def _open(self, parsed: ParsedURL, password: str | None, connector: Connector) -> OpenedBackend:
        target = check_url(parsed, self.settings, connector.default_port)
        return connector.open(parsed, target, self.settings, password)

    def _source_error(self, name: str, exc: BaseException, secrets=()) -> SourceError:
        if isinstance(exc, DataAskError) and not isinstance(exc, SourceError):
            return exc  # type: ignore[return-value]
        text = sanitize_error(getattr(exc, "message", None) or str(exc), secrets)
        if any(m in text.lower() for m in _TIMEOUT_MARKERS):
            return QueryTimeout(f"'{name}' stopped the query: it ran past the time limit. ({text})")
        return SourceError(f"'{name}' failed: {text}")

    # -- adding, testing, removing ---------------------------------------------------------
    def _prepare(self, name, url, workspace, password, replace):
        """Parse and check what ``add``/``probe`` were given; resolve a kept (masked) secret."""
        validate_name(name)
        ws_id = self._ws_id(workspace)
        parsed = parse_connection_url(url)
        connector = connector_for(parsed.family)
        if password is None:
            password = parsed.password
        existing = self.repo.get_connection(ws_id, name)
        secret_kept = None
        if password in (None, MASK) and existing is not None and existing.secret and replace:
            old = parse_stored_url(existing.url)
            same = (old.family, old.url.username, old.host, old.url.port) == (
                parsed.family, parsed.url.username, parsed.host, parsed.url.port)
            if not same:
                raise UsageError("The host or user changed: enter the password again.")
            secret_kept = existing.secret
            password = self._decrypt(existing)
        elif password == MASK:
            raise UsageError("Enter the real password, not the mask.")
        return ws_id, parsed, connector, password, secret_kept, existing

    def _probe(self, name, url, parsed, connector, password) -> tuple[float, float]:
        """Open, ping and close; returns (connect ms, ping ms). Failures become sanitized SourceErrors."""
        secrets = (password, url)
        started = time.perf_counter()
        try:
            opened = self._open(parsed, password, connector)
            try:
                pinged = time.perf_counter()
                connector.ping(opened, timeout=self.settings.connect_timeout)
                ping_ms = (time.perf_counter() - pinged) * 1000
            finally:
                connector.close(opened)
        except SourceError as exc:
            raise SourceError(
                f"Could not connect to '{name}': {sanitize_error(exc.message, secrets)}",
                hint=sanitize_error(exc.hint, secrets) if exc.hint else "Nothing was saved.",
            ) from None
        except DataAskError:
            raise
        except Exception as exc:
            raise SourceError(
                f"Could not connect to '{name}': {sanitize_error(str(exc), secrets)}",
                hint="Nothing was saved. Check the host, port, database name and credentials.",
            ) from None
        return (time.perf_counter() - started) * 1000, ping_ms

    def probe(
        self, name: str, url: str, *, workspace: str = DEFAULT_WORKSPACE, password: str | None = None,
        replace: bool = False,
    ) -> TestResult:
        """Test ``url`` exactly as :meth:`add` would, and save nothing."""
        try:
            _, parsed, connector, password, _, _ = self._prepare(name, url, workspace, password, replace)
            _, ping_ms = self._probe(name, url, parsed, connector, password)
        except DataAskError as exc:
            return TestResult(False, None, str(exc))
        return TestResult(True, round(ping_ms, 3))

    def add(
        self, name: str, url: str, *, workspace: str = DEFAULT_WORKSPACE, password: str | None = None,
        replace: bool = False, actor: str | None = None, allow_views: bool = False,
    ) -> ConnectionInfo:
        """Test ``url`` and save it as ``name`` only if the probe succeeds.

        ``password`` overrides one in the URL. With ``replace=True`` and no new password (or
        the mask), the stored secret is kept, but only for the same user, host and port: a
        secret never follows a connection to a new endpoint. ``actor`` names who does it in
        the audit log (default: this manager's actor; the server passes ``current_user``).
        ``allow_views=True`` lets :func:`~dataask_jupyter.prep.views.save_view` create views
        there (the pool stays read-only; see :mod:`.writable`); a replace without it revokes it.
        """
        actor = actor or self.actor
        if allow_views:
            check_admin_allows_views(self.settings)
        ws_id, parsed, connector, password, secret_kept, existing = self._prepare(
            name, url, workspace, password, replace)
        if password and secret_kept is None:
            self.cipher  # noqa: B018  refuse early (no key, weak key) before touching the database
        try:
            connect_ms, ping_ms = self._probe(name, url, parsed, connector, password)
        except DataAskError as exc:
            self._audit("connection.add", name, ws_id, "error", {"reason": exc.code}, actor)
            raise
        secret = secret_kept or (self.cipher.encrypt(password) if password else None)
        options = {ALLOW_VIEWS: True} if allow_views else {}
        rec = self.repo.save_connection(ws_id, name, parsed.family, parsed.public(), secret, options, actor, replace)
        self._drop((ws_id, name))
        self.repo.record_event(rec.id, "connect", True, latency_ms=round(connect_ms, 3))
        self.repo.record_event(rec.id, "ping", True, latency_ms=round(ping_ms, 3))
        self._audit("connection.replace" if existing else "connection.add", name, ws_id, "ok",
                    {"family": parsed.family, **options}, actor)
        return self.info(name, workspace)

    def test(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> TestResult:
        """Ping ``name`` (reconnecting if needed) and record the sample."""
        def ping(entry: _Entry) -> float:
            started = time.perf_counter()  # the ping alone, not a reconnect before it
            entry.connector.ping(entry.opened, timeout=self.settings.connect_timeout)
            return (time.perf_counter() - started) * 1000

        try:
            latency = self._call(name, workspace, ping, timeout=self.settings.connect_timeout, kind="ping")
        except DataAskError as exc:
            return TestResult(False, None, str(exc.message))
        self.repo.record_event(self.record(name, workspace).id, "ping", True, latency_ms=round(latency, 3))
        return TestResult(True, round(latency, 3))

    def remove(self, name: str, workspace: str = DEFAULT_WORKSPACE, *, actor: str | None = None) -> None:
        rec = self.record(name, workspace)
        self._drop((rec.workspace_id, name))
        self.repo.remove_connection(rec.workspace_id, name)
        self._audit("connection.remove", name, rec.workspace_id, "ok", {}, actor)

    # -- reading ---------------------------------------------------------------------------
    def info(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> ConnectionInfo:
        return self._info(self.record(name, workspace), workspace)

    def _info(self, rec: ConnectionRecord, workspace: str) -> ConnectionInfo:
        connector = connector_for(rec.family)
        return ConnectionInfo(
            name=rec.name, workspace=workspace, family=rec.family, dialect=connector.dialect,
            url=parse_stored_url(rec.url).masked(bool(rec.secret)),
            health=compute_health(self.repo.recent_events(rec.id)), usage=self.repo.usage_totals(rec.id),
            live_tested=connector.live_tested, created_at=rec.created_at, updated_at=rec.updated_at,
        )

    def names(self, workspace: str = DEFAULT_WORKSPACE) -> list[str]:
        return [r.name for r in self.repo.list_connections(self._ws_id(workspace))]

    def list(self, workspace: str = DEFAULT_WORKSPACE) -> ConnectionList:
        return ConnectionList(self._info(r, workspace) for r in self.repo.list_connections(self._ws_id(workspace)))

    def tables(self, name: str, workspace: str = DEFAULT_WORKSPACE, *, fresh: bool = False) -> list[str]:
        """Tables of ``name`` (reused for a minute; ``fresh=True``, as an explicit listing
        does, asks the database and drops the cached columns too)."""
        if fresh:
            self.forget_schema(name, workspace)
        return list(self.schemas.get((self._ws_id(workspace, cached=True), name, "tables"), lambda: sorted(
            self._call(name, workspace, lambda e: list(e.opened.backend.list_tables()), kind=None))))

    def forget_schema(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> None:
        """Drop the cached tables and columns of ``name`` (the next lookup asks the source)."""
        self.schemas.drop(self._ws_id(workspace, cached=True), name)

    def columns(self, name: str, table: str, workspace: str = DEFAULT_WORKSPACE) -> dict[str, str]:
        """Column name -> type for ``table`` (``schema.table`` accepted)."""
        schema, _, bare = table.rpartition(".")

        def go(e: _Entry):
            kwargs = {"database": schema} if schema else {}
            return {col: str(dtype).lstrip("!") for col, dtype in e.opened.backend.get_schema(bare, **kwargs).items()}

        key = (self._ws_id(workspace, cached=True), name, "columns", table)
        return dict(self.schemas.get(key, lambda: self._call(name, workspace, go, kind=None)))

    def estimate_rows(self, name: str, table: str, workspace: str = DEFAULT_WORKSPACE) -> float | None:
        """The source's own row estimate for ``table`` (statistics; cached for a few minutes)."""
        key = (self._ws_id(workspace), name, table)
        hit = self._estimates.get(key)
        if hit is not None and time.monotonic() - hit[1] < _ESTIMATE_TTL:
            return hit[0]
        schema, _, bare = table.rpartition(".")
        try:
            value = self._call(name, workspace, lambda e: e.connector.estimate_rows(e.opened, schema or None, bare),
                               kind=None)
        except DataAskError:
            value = None
        self._estimates[key] = (value, time.monotonic())
        return value

    def backend(self, name: str, workspace: str = DEFAULT_WORKSPACE):
        """The live ibis backend of ``name`` (for ibis users; not guarded by DataAsk's lock)."""
        return self._entry(self.record(name, workspace)).opened.backend

    def dialect(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> str:
        return connector_for(self.record(name, workspace).family).dialect

    # -- running -----------------------------------------------------------------------------
    def execute(
        self, name: str, sql: str, *, workspace: str = DEFAULT_WORKSPACE, max_rows: int | None = None,
        timeout: float | None = None, check: bool = True, internal: bool = False, split=None,
    ) -> QueryResult:
        """Run one read-only statement on ``name``.

        Parameters
        ----------
        max_rows
            Row cap (default and ceiling: ``Settings.max_rows``); ``truncated`` says if it bit.
        timeout
            Seconds before the query is cancelled server-side (default ``Settings.query_timeout``).
        internal
            For engine fetches (``%%federate`` intermediates): ``max_rows`` may exceed
            ``Settings.max_rows``, which otherwise is the ceiling.
        check
            Run the read-only guard first. Only tests switch it off, to show that the
            database's own read-only session still refuses writes.
        split
            A :class:`~dataask_jupyter.federation.split.KeySplit` or ``ScanSplit`` of ``sql``:
            the source may run it in parts on ``Settings.split_sessions`` sessions at once.
        """
        rec = self.record(name, workspace)
        connector = connector_for(rec.family)
        if check:
            from ..safety import ensure_read_only

            ensure_read_only(sql, dialect=connector.dialect)
        cap = self.settings.max_rows if max_rows is None else max_rows
        if not internal:
            cap = min(cap, self.settings.max_rows)
        limit = timeout or self.settings.query_timeout
        started = time.perf_counter()
        sessions = self.settings.split_sessions
        if split is not None and sessions > 1:
            def run(e):
                return e.connector.run_split(e.opened, sql, split, sessions, cap, limit)
        else:
            def run(e):
                return e.connector.run(e.opened, sql, cap, limit)
        fetched: FetchResult = self._call(name, workspace, run, timeout=limit, kind="query")
        seconds = time.perf_counter() - started
        self.repo.record_event(
            rec.id, "query", True, latency_ms=round(seconds * 1000, 3), rows=fetched.table.num_rows,
            bytes=int(fetched.table.nbytes),
        )
        return QueryResult(name, sql, fetched.table, fetched.truncated, seconds)

    def _entry(self, rec: ConnectionRecord) -> _Entry:
        key = (rec.workspace_id, rec.name)
        with self._pool_lock:
            entry = self._pool.get(key)
            if entry is None or entry.record.updated_at != rec.updated_at:
                if entry is not None and entry.opened is not None:
                    entry.connector.close(entry.opened)
                entry = self._pool[key] = _Entry(rec, connector_for(rec.family))
        if entry.opened is None:
            with entry.open_lock:  # threads that need it at once share one open, not one each
                if entry.opened is None:
                    try:
                        password = self._decrypt(rec)
                    except CredentialError as exc:
                        self.repo.record_event(rec.id, "error", False, message=exc.message)
                        raise
                    entry.secrets = (password,) if password else ()
                    parsed = parse_stored_url(rec.url)
                    entry.opened = self.backoff.retry(
                        lambda: self._open(parsed, password, entry.connector),
                        retryable=lambda exc: not isinstance(exc, DataAskError) and entry.last_used > 0,
                    )
        return entry

    def _drop(self, key: tuple[int, str]) -> None:
        self.schemas.drop(*key)
        with self._pool_lock:
            entry = self._pool.pop(key, None)
        if entry is not None and entry.opened is not None:
            entry.connector.close(entry.opened)

    def _invalidate(self, entry: _Entry) -> None:
        if entry.opened is not None:
            entry.connector.close(entry.opened)
            entry.opened = None

    def _call(self, name, workspace, fn, *, timeout: float | None = None, kind: str | None):
        """Run ``fn(entry)`` on a worker thread holding the connection's lock.

        Reconnects once (with backoff) if the connection died; Ctrl-C in the calling thread
        cancels the query on the server and raises :class:`QueryCancelled`.
        """
        rec = self.record(name, workspace)
        try:
            return self._attempt(rec, fn, timeout, retry_on_disconnect=True)
        except DataAskError as exc:
            # a CredentialError was already recorded by _entry (once, not once per caller)
            if (kind is not None or isinstance(exc, SourceError)) and not isinstance(exc, CredentialError):
                self.repo.record_event(rec.id, "error" if kind != "ping" else "ping", False, message=exc.message)
            raise

    def _attempt(self, rec, fn, timeout, *, retry_on_disconnect: bool):
        try:
            entry = self._entry(rec)
        except DataAskError:
            raise
        except Exception as exc:
            raise self._source_error(rec.name, exc) from None
        grace = (timeout or self.settings.query_timeout) + 5.0

        def work():
            opened = entry.opened  # another thread may invalidate or reopen the entry meanwhile
            if opened is None:
                raise SourceError(f"'{rec.name}' was closed while waiting.")
            if not opened.lock.acquire(timeout=grace):
                raise SourceError(f"'{rec.name}' is busy with another query; try again.")
            try:
                if entry.opened is not opened:
                    raise SourceError(f"'{rec.name}' was closed while waiting.")
                if time.monotonic() - entry.last_used > PREPING_AFTER_IDLE and entry.last_used:
                    entry.connector.ping(opened, timeout=self.settings.connect_timeout)
                result = fn(entry)
                entry.last_used = time.monotonic()
                return result
            finally:
                opened.lock.release()

        future = self._workers.submit(work)
        try:
            return future.result(timeout=grace)
        except KeyboardInterrupt:
            if entry.opened is not None:
                entry.connector.cancel(entry.opened)
            raise QueryCancelled(f"Cancelled the query on '{rec.name}'.") from None
        except cf.TimeoutError:
            if entry.opened is not None:
                entry.connector.cancel(entry.opened)
            raise QueryTimeout(f"'{rec.name}' did not answer within {grace - 5:.0f} s; the query was cancelled.") from None
        except DataAskError:
            raise
        except Exception as exc:
            if entry.connector.is_disconnect(exc) and retry_on_disconnect and not _is_timeout(exc):
                self._invalidate(entry)
                entry.last_used = entry.last_used or time.monotonic()  # mark as once-working: backoff applies
                return self._attempt(rec, fn, timeout, retry_on_disconnect=False)
            if entry.connector.is_disconnect(exc):
                self._invalidate(entry)
            raise self._source_error(rec.name, exc, entry.secrets) from None

    def cancel(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> None:
        """Cancel whatever runs on ``name`` right now (server-side where the database allows)."""
        rec = self.record(name, workspace)
        with self._pool_lock:
            entry = self._pool.get((rec.workspace_id, name))
        if entry is not None and entry.opened is not None:
            entry.connector.cancel(entry.opened)

    def identity(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> str:
        """Changes whenever the connection is re-pointed: a safe part of cache keys."""
        return self.identity_of(self.record(name, workspace))

    @staticmethod
    def identity_of(rec: ConnectionRecord) -> str:
        return f"{rec.family}|{rec.url}|{rec.updated_at.isoformat() if rec.updated_at else ''}"

    def records(self, workspace: str = DEFAULT_WORKSPACE) -> list[ConnectionRecord]:
        """Every connection record of ``workspace`` (one store query)."""
        return list(self.repo.list_connections(self._ws_id(workspace)))

    def writable(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> WritableSession:
        """A short-lived read-write session on ``name`` (close it after one call).

        Only for connections saved with ``allow_views`` (and, in team mode, allowed by the
        admin). For DuckDB (one writer per file) the pooled session is closed first; it reopens
        read-only on its next use.
        """
        rec = self.record(name, workspace)
        if not rec.options.get(ALLOW_VIEWS):
            raise Forbidden(f"'{name}' is read-only: views are not allowed on it.",
                            hint=f"Allow them with: dataask connection add {name} "
                            f"'{parse_stored_url(rec.url).masked(bool(rec.secret))}' --replace --allow-views")
        check_admin_allows_views(self.settings)
        connector = connector_for(rec.family)
        password = self._decrypt(rec)
        parsed = parse_stored_url(rec.url)
        if rec.family == "duckdb":  # one configuration per file and process: close the read-only one
            self._drop((rec.workspace_id, name))
        try:
            session = open_writable(connector, parsed, check_url(parsed, self.settings, connector.default_port),
                                    self.settings, password)
            # the session adds or drops views: the cached table list is stale once it closes
            session.on_close.append(lambda: self.schemas.drop(rec.workspace_id, name))
            return session
        except DataAskError:
            raise
        except Exception as exc:
            raise self._source_error(name, exc, (password,) if password else ()) from None

    def close(self) -> None:
        with self._pool_lock:
            entries, self._pool = list(self._pool.values()), {}
        for entry in entries:
            if entry.opened is not None:
                entry.connector.close(entry.opened)
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _audit(self, action: str, target: str, ws_id: int, outcome: str, detail: dict, actor: str | None = None) -> None:
        self.repo.audit(actor or self.actor, action, target_type="connection", target=target, workspace_id=ws_id,
                        outcome=outcome, detail=detail)


def _is_timeout(exc: BaseException) -> bool:
    return any(m in str(exc).lower() for m in _TIMEOUT_MARKERS)
