"""SQLite: opened read-only (``mode=ro`` plus ``PRAGMA query_only``)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

import ibis

from ..errors import SourceError
from .base import Connector, FetchResult, OpenedBackend, fetch_capped
from .policy import file_path

_LOCKED_PRAGMAS = frozenset({"query_only", "writable_schema", "trusted_schema", "journal_mode", "locking_mode"})


def _authorizer(action, arg1, arg2, _db, _trigger):
    """Deny what would escape ``mode=ro``: ATTACH (a writable second file, VACUUM INTO) and
    switching ``query_only`` back off."""
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None and (arg1 or "").lower() in _LOCKED_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def lock_down(raw: sqlite3.Connection) -> None:
    """No attached databases and no way to turn the read-only session off from SQL."""
    raw.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    raw.set_authorizer(_authorizer)


class SQLiteConnector(Connector):
    family = "sqlite"
    dialect = "sqlite"

    def open(self, parsed, target, settings, password=None) -> OpenedBackend:
        path = file_path(parsed)
        if path is None:
            raw = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            path = Path(path).resolve()
            if not path.exists():
                raise SourceError(f"The SQLite file does not exist: {path.name}.")
            raw = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False)
        raw.execute("PRAGMA query_only = ON")
        backend = ibis.sqlite.from_connection(raw)  # ibis runs its own PRAGMA first
        lock_down(raw)
        return OpenedBackend(backend=backend, raw=raw)

    def estimate_rows(self, opened, schema, table) -> float | None:
        quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table) if part)
        try:  # the largest rowid: O(log n), exact unless rows were deleted
            row = opened.raw.execute(f"SELECT max(rowid) FROM {quoted}").fetchone()
        except sqlite3.Error:  # a view, or WITHOUT ROWID
            return None
        return float(row[0] or 0)

    def run(self, opened, sql, max_rows, timeout) -> FetchResult:
        timer = threading.Timer(timeout, opened.raw.interrupt) if timeout else None
        if timer:
            timer.start()
        try:
            cur = opened.raw.execute(sql)
            try:
                return fetch_capped(cur, max_rows)
            finally:
                cur.close()
        finally:
            if timer:
                timer.cancel()

    def cancel(self, opened) -> None:
        opened.raw.interrupt()

    def is_disconnect(self, exc) -> bool:
        return "closed database" in str(exc).lower()
