"""Snowflake through ibis (``snowflake://user@account/database/schema?warehouse=WH&role=R``).

Not tested live here: no network. Compile tests pin the SQL ibis produces for Snowflake.
"""

from __future__ import annotations

from ..errors import SourceError, UsageError
from .base import Connector, FetchResult, OpenedBackend, fetch_capped


class SnowflakeConnector(Connector):
    family = "snowflake"
    dialect = "snowflake"
    live_tested = False

    def connect_args(self, parsed, target, settings, password):
        if not parsed.host or not parsed.url.username:
            raise UsageError("A Snowflake URL needs a user and an account: snowflake://USER@ACCOUNT/DB/SCHEMA.")
        args = {
            "user": parsed.url.username,
            "account": parsed.host,
            "database": parsed.database or "",
            "password": password,
            "login_timeout": int(settings.connect_timeout),
        }
        for key in ("warehouse", "role"):
            if key in parsed.query:
                args[key] = parsed.query[key]
        return {k: v for k, v in args.items() if v is not None}

    def open(self, parsed, target, settings, password=None) -> OpenedBackend:
        try:
            import ibis

            sf = ibis.snowflake
            import snowflake.connector  # noqa: F401
        except (ImportError, AttributeError):
            raise SourceError(
                "Snowflake support is not installed.", hint="pip install 'dataask-jupyter[snowflake]'"
            ) from None
        backend = sf.connect(**self.connect_args(parsed, target, settings, password))
        raw = backend.con
        cur = raw.cursor()
        cur.execute(f"ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = {int(settings.query_timeout)}")
        cur.close()
        return OpenedBackend(backend=backend, raw=raw)

    def run(self, opened, sql, max_rows, timeout) -> FetchResult:
        cur = opened.raw.cursor()
        try:
            cur.execute(sql, timeout=int(timeout) if timeout else None)
            return fetch_capped(cur, max_rows)
        finally:
            cur.close()

    def cancel(self, opened) -> None:
        try:
            opened.raw.cursor().execute("SELECT SYSTEM$CANCEL_ALL_QUERIES(CURRENT_SESSION())")
        except Exception:
            pass
