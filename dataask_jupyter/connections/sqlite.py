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
        return OpenedBackend(backend=ibis.sqlite.from_connection(raw), raw=raw)

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
