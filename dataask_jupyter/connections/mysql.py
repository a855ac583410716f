"""MySQL and MariaDB through mysqlclient: read-only transactions, row caps, KILL QUERY cancel."""

from __future__ import annotations

import warnings

import sqlglot

from ..errors import SourceError
from .base import Connector, FetchResult, OpenedBackend, fetch_capped


def _driver():
    try:
        import MySQLdb
        import MySQLdb.cursors
    except ImportError:
        raise SourceError(
            "MySQL/MariaDB support needs mysqlclient.",
            hint="Install it with: pip install 'dataask-jupyter[mysql]' (needs default-libmysqlclient-dev).",
        ) from None
    return MySQLdb


def cap_rows(sql: str, max_rows: int) -> str:
    """Add or tighten the outer LIMIT so an unbuffered cursor never streams more than needed."""
    try:
        tree = sqlglot.parse_one(sql, read="mysql")
        limit = tree.args.get("limit")
        current = int(limit.expression.name) if limit is not None and limit.expression.is_int else None
        if current is not None and current <= max_rows + 1:
            return sql
        return tree.limit(max_rows + 1).sql(dialect="mysql")
    except (sqlglot.errors.SqlglotError, AttributeError, ValueError):
        return sql  # the fetchmany cap still applies


class MySQLConnector(Connector):
    family = "mysql"
    dialect = "mysql"
    default_port = 3306
    disconnect_markers = ("gone away", "lost connection", "can't connect", "connection", "2006", "2013")

    def connect_args(self, parsed, target, settings, password: str | None) -> dict:
        q = parsed.query
        host = target.ip if target and target.ip else (target.host if target else parsed.host or "localhost")
        args = {
            "host": "127.0.0.1" if host == "localhost" else host,
            "port": parsed.url.port or self.default_port,
            "user": parsed.url.username or "",
            "password": password or "",
            "database": parsed.database or "",
            "connect_timeout": int(q.get("connect_timeout", settings.connect_timeout)),
            "charset": q.get("charset", "utf8mb4"),
            "local_infile": False,
            # mysqlclient turns multi statements ON by default: "SET ... READ WRITE; DELETE ..."
            "multi_statements": False,
            "autocommit": True,
        }
        if "ssl_mode" in q:
            args["ssl_mode"] = q["ssl_mode"]
        return args

    def open(self, parsed, target, settings, password=None) -> OpenedBackend:
        MySQLdb = _driver()
        import ibis

        args = self.connect_args(parsed, target, settings, password)
        raw = MySQLdb.connect(**args)
        cur = raw.cursor()
        cur.execute("SELECT VERSION()")
        mariadb = "mariadb" in str(cur.fetchone()[0]).lower()
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        cur.close()
        with warnings.catch_warnings():
            # servers without time-zone tables reject 'UTC'; fall back to the offset ourselves
            warnings.filterwarnings("ignore", message="Unable to set session timezone", category=UserWarning)
            backend = ibis.mysql.from_connection(raw)
        cur = raw.cursor()
        cur.execute("SELECT @@session.time_zone")
        if str(cur.fetchone()[0]).upper() not in ("UTC", "+00:00"):
            cur.execute("SET @@session.time_zone = '+00:00'")
        cur.close()
        opened = OpenedBackend(backend=backend, raw=raw)
        # read it now: mysqlclient refuses any call on a connection busy in another thread
        opened.extra.update(args=args, mariadb=mariadb, default_timeout=settings.query_timeout,
                            thread_id=int(raw.thread_id()))
        return opened

    def _set_timeout(self, cur, opened, seconds: float) -> None:
        # re-assert read-only before every query: an earlier "SET SESSION TRANSACTION READ
        # WRITE" (only possible with the guard off) must not make this one writable
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        if opened.extra["mariadb"]:
            cur.execute(f"SET SESSION max_statement_time = {float(seconds):.3f}")
        else:
            cur.execute(f"SET SESSION max_execution_time = {max(1, int(seconds * 1000))}")

    def estimate_rows(self, opened, schema, table) -> float | None:
        cur = opened.raw.cursor()
        try:
            cur.execute("SELECT TABLE_ROWS FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s", (schema, table))
            row = cur.fetchone()
        finally:
            cur.close()
        return float(row[0]) if row and row[0] is not None else None

    def run(self, opened, sql, max_rows, timeout) -> FetchResult:
        MySQLdb = _driver()
        cur = opened.raw.cursor(MySQLdb.cursors.SSCursor)
        try:
            self._set_timeout(cur, opened, timeout or opened.extra["default_timeout"])
            cur.execute(cap_rows(sql, max_rows))
            return fetch_capped(cur, max_rows)
        finally:
            cur.close()

    def cancel(self, opened) -> None:
        MySQLdb = _driver()
        try:
            killer = MySQLdb.connect(**opened.extra["args"])
            try:
                killer.cursor().execute(f"KILL QUERY {int(opened.extra['thread_id'])}")
            finally:
                killer.close()
        except MySQLdb.Error:
            pass
