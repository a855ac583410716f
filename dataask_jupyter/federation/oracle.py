"""Bind SQL against empty copies of the source tables to learn DuckDB's names and types.

The federated answer must look like DuckDB ran the statement over all tables at once:
same column names (``sum(o.amount)``, ``count_star()``, a quoted alias's case) and the
same types. An isolated in-memory DuckDB holding *empty* tables with the sources'
schemas binds the statement (no data, no execution) and reports exactly that. Binding
errors (unknown column, bad function) surface here too, before anything is fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import duckdb

__all__ = ["OraclePool", "SchemaOracle", "isolated_duckdb"]

_ISOLATION = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}


def isolated_duckdb(extra: Mapping[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with external access and extension loading off.

    The caller locks the configuration (``SET lock_configuration = true``) once its own
    setup is done.
    """
    config: dict[str, object] = dict(_ISOLATION)
    config.update(extra or {})
    return duckdb.connect(":memory:", config=config)


_RESERVED_CATALOGS = {"memory", "system", "temp", "main"}


def quote(name: str) -> str:
    """DuckDB-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


class OraclePool:
    """Keeps one binding DuckDB between plans (opening one costs ~15 ms); thread-safe.

    An oracle takes the idle connection (or opens one), and on close drops everything it
    created and hands the connection back; if that cleanup fails the connection is closed.
    Also remembers which type names DuckDB accepts, so each is checked once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: duckdb.DuckDBPyConnection | None = None
        self.known_types: dict[str, bool] = {}

    def oracle(self, tables: Mapping[str, Sequence[tuple[str, str]]],
               paths: Mapping[tuple[str, ...], str] | None = None) -> SchemaOracle:
        with self._lock:
            con, self._idle = self._idle, None
        return SchemaOracle(tables, paths, con=con, pool=self)

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            for (name,) in con.execute(
                    "SELECT database_name FROM duckdb_databases() WHERE database_name NOT IN "
                    "('memory', 'system', 'temp')").fetchall():
                con.execute(f"DETACH {quote(name)}")
            for kind, fn in (("VIEW", "duckdb_views() WHERE NOT internal AND"), ("TABLE", "duckdb_tables() WHERE")):
                for schema, name in con.execute(
                        f"SELECT schema_name, {kind.lower()}_name FROM {fn} database_name = 'memory'").fetchall():
                    con.execute(f"DROP {kind} memory.{quote(schema)}.{quote(name)}")
        except duckdb.Error:
            con.close()
            return
        with self._lock:
            if self._idle is None:
                self._idle, con = con, None
        if con is not None:
            con.close()

    def close(self) -> None:
        with self._lock:
            con, self._idle = self._idle, None
        if con is not None:
            con.close()


class SchemaOracle:
    """Empty tables named like the planner's virtual tables, for binding only.

    Parameters
    ----------
    tables
        Virtual table name to ``[(column, duckdb_type), ...]``.
    paths
        Dotted names as the user wrote them (``("shop", "orders")``) to the virtual table
        each one resolved to, so the original SQL text binds unchanged and DuckDB names
        its columns exactly as it would (``string_agg(...)``, not a re-spelled function).
    """

    def __init__(
        self,
        tables: Mapping[str, Sequence[tuple[str, str]]],
        paths: Mapping[tuple[str, ...], str] | None = None,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
        pool: OraclePool | None = None,
    ) -> None:
        self._pool = pool
        self._known: dict[str, bool] = pool.known_types if pool is not None else {}
        self._con = con or isolated_duckdb({"threads": 1})
        for name, columns in tables.items():
            self._create(name, columns)
        for path, name in (paths or {}).items():
            try:
                self._alias(path, name)
            except duckdb.Error:
                pass  # the statement then binds against the virtual names only
        if con is None:
            self._con.execute("SET lock_configuration = true")

    def _alias(self, path: tuple[str, ...], name: str) -> None:
        """Make ``name`` reachable under the dotted path the user wrote (``conn.schema.table``)."""
        *prefix, table = path
        if len(prefix) > 2 or (prefix and prefix[0].lower() in _RESERVED_CATALOGS):
            return
        if prefix:
            catalog = prefix[0]
            attached = {r[0].lower() for r in self._con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
            if catalog.lower() not in attached:
                self._con.execute(f"ATTACH ':memory:' AS {quote(catalog)}")
            schema = prefix[1] if len(prefix) == 2 else "main"
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(catalog)}.{quote(schema)}")
            target = f"{quote(catalog)}.{quote(schema)}.{quote(table)}"
        else:
            target = f"memory.main.{quote(table)}"
        self._con.execute(f"CREATE VIEW IF NOT EXISTS {target} AS SELECT * FROM memory.main.{quote(name)}")

    def _create(self, name: str, columns: Sequence[tuple[str, str]]) -> None:
        defs = []
        for column, dtype in columns:
            if dtype not in self._known:
                try:
                    self._con.execute(f"SELECT CAST(NULL AS {dtype})")
                    self._known[dtype] = True
                except duckdb.Error:
                    self._known[dtype] = False
            if not self._known[dtype]:
                dtype = "VARCHAR"
            defs.append(f"{quote(column)} {dtype}")
        if not defs:
            defs = ['"__empty" INTEGER']
        self._con.execute(f"CREATE TABLE {quote(name)} ({', '.join(defs)})")

    def describe(self, sql: str) -> list[tuple[str, str]]:
        """Output ``[(name, type), ...]`` of ``sql``; raises ``duckdb.Error`` if it doesn't bind."""
        rel = self._con.sql(sql)
        return [(str(n), str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]

    def close(self) -> None:
        """Release the connection (back to the pool, emptied, when there is one)."""
        if self._pool is not None:
            self._pool.release(self._con)
        else:
            self._con.close()

    def __enter__(self) -> SchemaOracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
