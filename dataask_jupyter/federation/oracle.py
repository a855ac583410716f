"""Bind SQL against empty copies of the source tables to learn DuckDB's names and types.

The federated answer must look like DuckDB ran the statement over all tables at once:
same column names (``sum(o.amount)``, ``count_star()``, a quoted alias's case) and the
same types. An isolated in-memory DuckDB holding *empty* tables with the sources'
schemas binds the statement (no data, no execution) and reports exactly that. Binding
errors (unknown column, bad function) surface here too, before anything is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

__all__ = ["SchemaOracle", "isolated_duckdb"]

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


def quote(name: str) -> str:
    """DuckDB-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


class SchemaOracle:
    """Empty tables named like the planner's virtual tables, for binding only.

    Parameters
    ----------
    tables
        Virtual table name to ``[(column, duckdb_type), ...]``.
    """

    def __init__(self, tables: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        self._con = isolated_duckdb({"threads": 1})
        for name, columns in tables.items():
            self._create(name, columns)
        self._con.execute("SET lock_configuration = true")

    def _create(self, name: str, columns: Sequence[tuple[str, str]]) -> None:
        defs = []
        for column, dtype in columns:
            try:
                self._con.execute(f"SELECT CAST(NULL AS {dtype})")
            except duckdb.Error:
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
        """Release the connection."""
        self._con.close()

    def __enter__(self) -> SchemaOracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
