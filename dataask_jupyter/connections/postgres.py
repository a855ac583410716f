"""PostgreSQL through psycopg 3: read-only sessions, server-side cursors, server-side cancel."""

from __future__ import annotations

import uuid

import ibis
import psycopg

from .base import Connector, FetchResult, OpenedBackend, fetch_capped


class PostgresConnector(Connector):
    family = "postgres"
    dialect = "postgres"
    default_port = 5432

    def connect_args(self, parsed, target, settings, password: str | None) -> dict:
        """The effective arguments handed to ``psycopg.connect``; built only from checked parts."""
        q = parsed.query
        timeout_ms = int(settings.query_timeout * 1000)
        args = {
            "host": target.host if target else (parsed.host or "localhost"),
            "port": parsed.url.port or self.default_port,
            "user": parsed.url.username,
            "password": password,
            "dbname": parsed.database,
            "connect_timeout": int(q.get("connect_timeout", settings.connect_timeout)),
            "application_name": q.get("application_name", "dataask"),
            # read-only and bounded by default; user SQL cannot SET these back (the guard refuses SET)
            "options": f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}",
            "autocommit": True,
        }
        if target and target.ip:
            args["hostaddr"] = target.ip  # connect to the address the policy checked
        for key in ("sslmode", "target_session_attrs"):
            if key in q:
                args[key] = q[key]
        return {k: v for k, v in args.items() if v is not None}

    def open(self, parsed, target, settings, password=None) -> OpenedBackend:
        raw = psycopg.connect(**self.connect_args(parsed, target, settings, password))
        raw.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        return OpenedBackend(backend=ibis.postgres.from_connection(raw), raw=raw)

    def run(self, opened, sql, max_rows, timeout) -> FetchResult:
        raw: psycopg.Connection = opened.raw
        with raw.transaction():
            # per transaction, before any query: a SELECT cannot flip it back (set_config on
            # default_transaction_read_only in an earlier query must not make this one writable)
            raw.execute("SET TRANSACTION READ ONLY")
            if timeout:
                raw.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
            # a server-side cursor streams: a 10M-row SELECT * fetches only max_rows + 1 rows
            with raw.cursor(name=f"dataask_{uuid.uuid4().hex[:12]}") as cur:
                cur.execute(sql)
                return fetch_capped(cur, max_rows)

    def cancel(self, opened) -> None:
        raw: psycopg.Connection = opened.raw
        cancel = getattr(raw, "cancel_safe", None) or raw.cancel
        try:
            cancel()
        except psycopg.Error:
            pass

    def is_disconnect(self, exc) -> bool:
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return True
        return super().is_disconnect(exc)
