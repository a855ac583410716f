"""PostgreSQL through psycopg 3: read-only sessions, server-side cursors, server-side cancel.

Results come back as Arrow by the fastest path that represents them faithfully: DuckDB's
postgres scanner for results with ``numeric`` columns (:mod:`.pg_duckdb`), else ADBC
(:mod:`.pg_adbc`), else COPY CSV parsed by pyarrow (:mod:`.pg_arrow`), else DB-API rows.
"""

from __future__ import annotations

import uuid

import ibis
import psycopg
import pyarrow as pa

from . import pg_adbc, pg_duckdb, pg_split
from .base import Connector, FetchResult, OpenedBackend, fetch_capped
from .pg_arrow import CopyUnsupported, copy_to_arrow, describe


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
        args = self.connect_args(parsed, target, settings, password)
        raw = psycopg.connect(**args)
        raw.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        # the ADBC sessions and the scanner (opened on first fetch) get exactly the same checked arguments
        return OpenedBackend(backend=ibis.postgres.from_connection(raw), raw=raw,
                             extra={"adbc_uri": pg_adbc.adbc_uri(args), "pg_args": args})

    def run(self, opened, sql, max_rows, timeout) -> FetchResult:
        scanned = pg_duckdb.fetch(opened.extra, opened.raw, sql, max_rows, timeout)
        if scanned is not None:
            return FetchResult(*scanned)
        fast = pg_adbc.fetch(opened.extra, sql, max_rows, timeout)
        if fast is not None:
            return FetchResult(*fast)
        return self._run_psycopg(opened, sql, max_rows, timeout)

    def run_split(self, opened, sql, split, sessions, max_rows, timeout) -> FetchResult:
        """Parts on parallel ADBC sessions where PostgreSQL gains by it (see :mod:`.pg_split`)."""
        from ..federation.split import SPLIT_NOTE, KeySplit
        from ..safety import ensure_read_only

        parts, how = [], ""
        if isinstance(split, KeySplit):
            chosen = pg_split.split_bounds(opened.raw, split, sessions)
            if chosen is not None:
                key, bounds, nullable = chosen
                parts, how = split.parts(key, bounds, nullable=nullable), f"ranges of {key.column}"
        else:
            conditions = pg_split.scan_ranges(opened.raw, split, sessions)
            if conditions is not None:
                parts, how = split.parts(conditions), "row ranges"
        if not parts:
            return self.run(opened, sql, max_rows, timeout)
        for part in parts:  # the checked statement plus integer or ctid bounds; checked again all the same
            ensure_read_only(part, dialect=self.dialect)
        tables = pg_adbc.fetch_many(opened.extra, parts, max_rows, timeout)
        if tables is None:
            return self.run(opened, sql, max_rows, timeout)
        table = pa.concat_tables(tables, promote_options="permissive")
        # the engine shows this beside the fetch's SQL (a schema note is thread-safe; a field is not)
        note = f"{len(parts)} {how} on parallel sessions".encode()
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), SPLIT_NOTE: note})
        return FetchResult(table.slice(0, max_rows), table.num_rows > max_rows)

    def ping(self, opened, timeout=None) -> None:
        self._run_psycopg(opened, "SELECT 1", 1, timeout)  # the connection health is about

    def _run_psycopg(self, opened, sql, max_rows, timeout) -> FetchResult:
        raw: psycopg.Connection = opened.raw
        with raw.transaction():
            # per transaction, before any query: a SELECT cannot flip it back (set_config on
            # default_transaction_read_only in an earlier query must not make this one writable)
            raw.execute("SET TRANSACTION READ ONLY")
            if timeout:
                raw.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
            fast = self._copy_fetch(raw, sql, max_rows)
            if fast is not None:
                return fast
            # a server-side cursor streams: a 10M-row SELECT * fetches only max_rows + 1 rows
            with raw.cursor(name=f"dataask_{uuid.uuid4().hex[:12]}") as cur:
                cur.execute(sql)
                return fetch_capped(cur, max_rows)

    def estimate_rows(self, opened, schema, table) -> float | None:
        name = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table) if part)
        row = opened.raw.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [name]).fetchone()
        return float(row[0]) if row and row[0] is not None and row[0] >= 0 else None

    @staticmethod
    def _copy_fetch(raw: psycopg.Connection, sql: str, max_rows: int) -> FetchResult | None:
        """COPY → Arrow for plain column types (see :mod:`.pg_arrow`); ``None``: use the row path."""
        if max_rows < 0:
            return None
        try:
            with raw.transaction():  # a savepoint: a refused attempt leaves the transaction usable
                with raw.cursor() as cur:
                    described = describe(cur, sql)
                    if described is None:
                        return None
                    table = copy_to_arrow(cur, sql, *described, max_rows + 1)
        except CopyUnsupported:
            return None
        except psycopg.errors.SyntaxError:  # a statement our subquery wrapper does not fit
            return None
        return FetchResult(table.slice(0, max_rows), table.num_rows > max_rows)

    def close(self, opened) -> None:
        pg_adbc.close(opened.extra)
        pg_duckdb.close(opened.extra)
        super().close(opened)

    def cancel(self, opened) -> None:
        pg_adbc.cancel(opened.extra)
        pg_duckdb.cancel(opened.extra)
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
