"""The one write path: short-lived read-write sessions for creating views.

Every pooled connection stays read-only. A connection saved with ``--allow-views`` (the
``allow_views`` option of its record) may additionally get a :class:`WritableSession`,
opened for one call and closed right after; :func:`dataask_jupyter.prep.views.save_view`
is its only user and runs only a vetted ``CREATE VIEW`` (or ``DROP VIEW`` + ``CREATE VIEW``)
through it. In team mode the admin must also allow it: ``DATAASK_ALLOW_VIEWS=1`` in the
environment of the server that holds the store.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from ..config import Settings
from ..errors import Forbidden, SourceError
from .policy import file_path

ALLOW_VIEWS = "allow_views"
ADMIN_ENV = "DATAASK_ALLOW_VIEWS"


def admin_allows_views(settings: Settings) -> bool:
    """Personal mode: yes. Team mode: only with ``DATAASK_ALLOW_VIEWS=1`` set by the admin."""
    return not settings.team or os.environ.get(ADMIN_ENV, "").strip() == "1"


def check_admin_allows_views(settings: Settings) -> None:
    if not admin_allows_views(settings):
        raise Forbidden("Creating views is switched off on this team server.",
                        hint=f"An admin can allow it with {ADMIN_ENV}=1 in the DataAsk service's environment.")


def _sqlite_authorizer(droppable: set[str]):
    """Allow what CREATE/DROP VIEW need (reads, the schema table, deleting the dropped view's
    own entry) and no other write."""
    def authorize(action, arg1, arg2, _db, _trigger):
        if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE):
            name = (arg1 or "").lower()
            if name in ("sqlite_master", "sqlite_schema") or (action == sqlite3.SQLITE_DELETE and name in droppable):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        return _sqlite_deny_ddl(action)

    return authorize


def _sqlite_deny_ddl(action) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA):
        return sqlite3.SQLITE_DENY
    if action in (sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_CREATE_INDEX,
                  sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER,
                  sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_VTABLE,
                  sqlite3.SQLITE_CREATE_TEMP_TABLE, sqlite3.SQLITE_CREATE_TEMP_VIEW, sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
                  sqlite3.SQLITE_CREATE_TEMP_INDEX):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class WritableSession:
    """A read-write DB-API connection for one call; :meth:`run` executes statements in one
    transaction (all or nothing where the database has transactional DDL)."""

    def __init__(self, family: str, raw, *, transactional: bool) -> None:
        self.family = family
        self.raw = raw
        self.transactional = transactional
        self.droppable: set[str] = set()  # SQLite: views a DROP VIEW may remove
        self.on_close: list = []  # callbacks after closing (the manager forgets the cached schema)

    def run(self, statements: Sequence[str], *, drops: Sequence[str] = ()) -> None:
        self.droppable.update(d.lower() for d in drops)
        if self.family == "postgres":
            with self.raw.transaction():
                for sql in statements:
                    self.raw.execute(sql)
            return
        cur = self.raw.cursor()
        try:
            if self.family == "sqlite":
                cur.execute("BEGIN IMMEDIATE")
            try:
                for sql in statements:
                    cur.execute(sql)
            except BaseException:
                if self.family == "sqlite":
                    self.raw.rollback()
                raise
            if self.family == "sqlite":
                cur.execute("COMMIT")
        finally:
            cur.close()

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # noqa: BLE001 - closing a broken session must not hide the real error
            pass
        for callback in self.on_close:
            callback()

    def __enter__(self) -> WritableSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_writable(connector, parsed, target, settings: Settings, password: str | None) -> WritableSession:
    """Open a read-write session with the same checked arguments as the read-only pool,
    minus the read-only options. Raises :class:`SourceError` with a message to act on."""
    family = connector.family
    if family == "sqlite":
        path = file_path(parsed)
        if path is None:
            raise SourceError("An in-memory SQLite connection cannot keep a view.")
        path = Path(path).resolve()
        raw = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None,
                              timeout=settings.connect_timeout)
        raw.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        session = WritableSession(family, raw, transactional=True)
        raw.set_authorizer(_sqlite_authorizer(session.droppable))
        return session
    if family == "duckdb":
        import duckdb

        path = file_path(parsed)
        if path is None:
            raise SourceError("An in-memory DuckDB connection cannot keep a view.")
        path = Path(path).resolve()
        config = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
                  "python_enable_replacements": "false", "enable_external_access": "false"}
        try:
            raw = duckdb.connect(str(path), read_only=False, config=config)
        except duckdb.Error as exc:
            text = str(exc).lower()
            if "lock" in text or "different configuration" in text or "conflicting" in text:
                raise SourceError(
                    f"The DuckDB file {path.name} is open in another process or kernel; DuckDB allows only "
                    "one writer per file.",
                    hint="Close the other session (or shut down the kernel that holds it) and try again.",
                ) from None
            raise
        raw.execute("SET lock_configuration = true")
        return WritableSession(family, raw, transactional=True)
    if family == "postgres":
        import psycopg

        args = connector.connect_args(parsed, target, settings, password)
        args["options"] = f"-c statement_timeout={int(settings.query_timeout * 1000)}"  # no read-only default
        return WritableSession(family, psycopg.connect(**args), transactional=True)
    if family == "mysql":
        from .mysql import _driver

        args = connector.connect_args(parsed, target, settings, password)  # multi_statements and local_infile off
        return WritableSession(family, _driver().connect(**args), transactional=False)
    raise SourceError(f"Saving views is not supported on {family} connections yet.",
                      hint="Export the CREATE VIEW statement and run it in the database yourself.")
