"""The schema of a workspace as the question engines see it.

:class:`SchemaCatalog` holds every table of the chosen connections (internal tables whose
name starts with ``_`` are hidden), their columns and types, primary keys, relationships
(declared foreign keys plus ``x_id`` -> ``x.id`` / ``xs.id`` names, also across
connections), comments, and the distinct values of low-cardinality text columns. It is
built once with guarded read queries (:meth:`SchemaCatalog.from_manager`) and reused;
date ranges and value look-ups that a question needs later go through the same guarded
runner and are cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from .dialects import literal, quote_ident
from .introspect import Metadata, read_metadata
from .tables import ColumnInfo, Relationship, TableInfo, column_kind, rows_of

__all__ = ["ColumnInfo", "Relationship", "SchemaCatalog", "TableInfo", "column_kind", "rows_of"]

Runner = Callable[[str, str], list[tuple]]  # (connection, sql) -> rows
MAX_DISTINCT = 50
SAMPLE_ROWS = 100_000
PROBE_ROWS = 1_000_000  # rows scanned per table when looking a word up in high-cardinality columns


class SchemaCatalog:
    """Tables, columns, keys, relationships and low-cardinality values of some connections.

    Parameters
    ----------
    tables
        The tables (hidden ``_`` tables are dropped).
    relationships
        Known relationships; name-based ones are added by :meth:`infer_relationships`.
    runner
        ``runner(connection, sql) -> rows``: guarded, read-only execution used for date
        ranges and value look-ups. ``None`` disables those look-ups.
    """

    def __init__(self, tables: Iterable[TableInfo], relationships: Iterable[Relationship] = (),
                 runner: Runner | None = None) -> None:
        self.tables: dict[tuple[str, str], TableInfo] = {
            t.key: t for t in tables if not t.name.startswith("_") and not t.name.startswith("sqlite_")
        }
        self.relationships: list[Relationship] = [
            r for r in relationships if r.from_table in self.tables and r.to_table in self.tables
        ]
        self._runner = runner
        self._ranges: dict[tuple[str, str, str], tuple] = {}
        self._probes: dict[tuple, list] = {}
        self.notes: list[str] = []

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_manager(cls, manager, workspace: str = "default", connections: Sequence[str] | None = None, *,
                     values: bool = True, max_distinct: int = MAX_DISTINCT, timeout: float = 30.0) -> SchemaCatalog:
        """Read the schema of ``connections`` (default: all of the workspace) through a ``ConnectionManager``.

        Parameters
        ----------
        manager
            :class:`dataask_jupyter.connections.ConnectionManager` (or anything with
            ``list``, ``tables``, ``columns``, ``dialect`` and ``execute``).
        workspace
            Workspace name.
        connections
            Names to include; ``None`` means every connection of the workspace.
        values
            Fetch distinct values of low-cardinality text columns.
        max_distinct
            A text column with more distinct values than this is not sampled.
        timeout
            Seconds per catalog query.
        """
        names = list(connections) if connections is not None else [c.name for c in manager.list(workspace)]

        def runner(conn: str, sql: str) -> list[tuple]:
            return rows_of(manager.execute(conn, sql, workspace=workspace, max_rows=10_000, timeout=timeout))

        tables: list[TableInfo] = []
        relationships: list[Relationship] = []
        notes: list[str] = []
        for conn in names:
            try:
                dialect = manager.dialect(conn, workspace)
                listed = [t for t in manager.tables(conn, workspace) if not t.startswith(("_", "sqlite_"))]
                found = []
                for table in listed:
                    cols = manager.columns(conn, table, workspace)
                    found.append(TableInfo(conn, table, dialect, {
                        c: ColumnInfo(c, str(t), column_kind(str(t))) for c, t in cols.items()}))
            except Exception as exc:  # one broken connection must not hide the others
                notes.append(f"{conn}: schema not read ({str(exc).splitlines()[0][:200]})")
                continue
            meta = read_metadata(dialect, lambda sql, conn=conn: runner(conn, sql))
            relationships += _apply_metadata(conn, found, meta)
            tables += found
        catalog = cls(tables, relationships, runner)
        catalog.notes += notes
        catalog.infer_relationships()
        if values:
            catalog.fetch_values(max_distinct=max_distinct)
        return catalog

    def infer_relationships(self) -> None:
        """Add ``x_id`` -> ``x.id`` / ``xs.id`` relationships (same connection first, then others)."""
        known = {(r.from_table, r.from_column) for r in self.relationships}
        by_words: dict[tuple[str, ...], list[TableInfo]] = {}
        for t in self.tables.values():
            by_words.setdefault(t.words, []).append(t)
        for table in self.tables.values():
            for col in table.columns.values():
                words = col.words
                if (table.key, col.name) in known or len(words) < 2 or words[-1] != "id" or col.primary_key:
                    continue
                targets = by_words.get(words[:-1], [])
                same = [t for t in targets if t.connection == table.connection and t.key != table.key]
                other = [t for t in targets if t.connection != table.connection]
                for group in (same, other):
                    picked = [(t, _target_column(t, col)) for t in group]
                    picked = [(t, c) for t, c in picked if c]
                    if len(picked) == 1:
                        t, c = picked[0]
                        self.relationships.append(Relationship(table.key, col.name, t.key, c, "name"))
                        break

    def fetch_values(self, *, max_distinct: int = MAX_DISTINCT) -> None:
        """Fetch distinct values of text columns with at most ``max_distinct`` of them (one query per table)."""
        if self._runner is None:
            return
        for table in self.tables.values():
            texts = [c for c in table.columns.values() if c.kind == "text"]
            if not texts:
                continue
            d = table.dialect
            src = quote_ident(table.name, d)
            parts = []
            for c in texts:
                q = quote_ident(c.name, d)
                parts.append(
                    f"SELECT {literal(c.name)} AS col, v FROM (SELECT DISTINCT {q} AS v FROM "
                    f"(SELECT {q} FROM {src} LIMIT {SAMPLE_ROWS}) AS s WHERE {q} IS NOT NULL "
                    f"LIMIT {max_distinct + 1}) AS d{len(parts)}")
            try:
                rows = self._runner(table.connection, " UNION ALL ".join(parts))
            except Exception as exc:
                self.notes.append(f"{table.qualified}: values not read ({str(exc).splitlines()[0][:200]})")
                continue
            seen: dict[str, list[str]] = {}
            for col, value in rows:
                seen.setdefault(col, []).append(str(value))
            for c in texts:
                vals = seen.get(c.name, [])
                if len(vals) <= max_distinct:
                    c.values = tuple(sorted(vals))

    # -- lookups ---------------------------------------------------------------------------------
    def table(self, key: tuple[str, str]) -> TableInfo:
        return self.tables[key]

    @property
    def connections(self) -> list[str]:
        return sorted({k[0] for k in self.tables})

    def dialect(self, connection: str) -> str:
        for t in self.tables.values():
            if t.connection == connection:
                return t.dialect
        return "duckdb"

    def subset(self, connections: Iterable[str]) -> SchemaCatalog:
        """A catalog over some of the connections (sharing caches and the runner)."""
        wanted = set(connections)
        sub = SchemaCatalog([t for k, t in self.tables.items() if k[0] in wanted],
                            [r for r in self.relationships], self._runner)
        sub._ranges, sub._probes = self._ranges, self._probes
        return sub

    def edges(self, key: tuple[str, str]) -> list[tuple[Relationship, bool]]:
        """Relationships touching ``key``: ``(rel, outward)``; outward means key is the many side."""
        out = [(r, True) for r in self.relationships if r.from_table == key]
        out += [(r, False) for r in self.relationships if r.to_table == key and r.from_table != key]
        return out

    def date_range(self, key: tuple[str, str], column: str) -> tuple | None:
        """``(min, max)`` of a column as Python dates (cached); ``None`` if unknown."""
        cache_key = (*key, column)
        if cache_key not in self._ranges:
            result = None
            if self._runner is not None:
                table = self.tables[key]
                q, d = quote_ident(column, table.dialect), table.dialect
                try:
                    rows = self._runner(key[0], f"SELECT MIN({q}), MAX({q}) FROM {quote_ident(table.name, d)}")
                    if rows and rows[0][1] is not None:
                        result = (_as_date(rows[0][0]), _as_date(rows[0][1]))
                except Exception:
                    result = None
            self._ranges[cache_key] = result
        return self._ranges[cache_key]

    def probe_values(self, key: tuple[str, str], words: Sequence[str]) -> list[tuple[str, str]]:
        """Exact, case-insensitive matches of ``words`` in the sampled-out (high-cardinality) text columns.

        Returns ``[(column, stored value)]``. One guarded query per table; cached.
        """
        table = self.tables[key]
        cols = [c for c in table.columns.values() if c.kind == "text" and c.values is None]
        cache_key = (*key, tuple(sorted(w.lower() for w in words)))
        if not cols or not words or self._runner is None:
            return []
        if cache_key not in self._probes:
            d = table.dialect
            wanted = ", ".join(literal(w.lower()) for w in sorted(set(words)))
            parts = [f"SELECT {literal(c.name)} AS col, v FROM (SELECT DISTINCT v FROM (SELECT "
                     f"{quote_ident(c.name, d)} AS v FROM {quote_ident(table.name, d)} LIMIT {PROBE_ROWS}) AS s "
                     f"WHERE lower(v) IN ({wanted}) LIMIT 5) AS p{i}" for i, c in enumerate(cols)]
            try:
                rows = self._runner(key[0], " UNION ALL ".join(parts))
            except Exception:
                rows = []
            self._probes[cache_key] = [(str(c), str(v)) for c, v in rows]
        return self._probes[cache_key]

    def sqlglot_schema(self, federated: bool, connection: str | None = None) -> dict:
        """``{table: {column: type}}`` for one connection, or ``{connection: {...}}`` when federated."""
        out: dict = {}
        for t in self.tables.values():
            cols = {c.name: _sqlglot_type(c.kind) for c in t.columns.values()}
            if federated:
                out.setdefault(t.connection, {})[t.name] = cols
            elif t.connection == connection:
                out[t.name] = cols
        return out

    def to_dict(self) -> dict:
        """JSON-friendly description (used by prompts and ``--explain``)."""
        return {
            "tables": [{
                "connection": t.connection, "name": t.name, "dialect": t.dialect, "comment": t.comment,
                "columns": [{"name": c.name, "type": c.dtype, "primary_key": c.primary_key,
                             "comment": c.comment, "values": list(c.values) if c.values is not None else None}
                            for c in t.columns.values()],
            } for t in self.tables.values()],
            "relationships": [r.describe() for r in self.relationships],
        }


def _target_column(table: TableInfo, col: ColumnInfo) -> str | None:
    if col.name in table.columns and table.columns[col.name].primary_key:
        return col.name
    pk = table.primary_key
    if len(pk) == 1:
        return pk[0]
    if "id" in table.columns:
        return "id"
    return col.name if col.name in table.columns else None


def _apply_metadata(conn: str, tables: list[TableInfo], meta: Metadata) -> list[Relationship]:
    by_name = {t.name: t for t in tables}
    for name, cols in meta.primary_keys.items():
        for c in cols:
            if name in by_name and c in by_name[name].columns:
                by_name[name].columns[c].primary_key = True
    for t in tables:  # an ``id`` column is the key when nothing is declared
        if not any(c.primary_key for c in t.columns.values()) and "id" in t.columns:
            t.columns["id"].primary_key = True
    for (name, col), text in meta.column_comments.items():
        if name in by_name and col in by_name[name].columns:
            by_name[name].columns[col].comment = text
    for name, text in meta.table_comments.items():
        if name in by_name:
            by_name[name].comment = text
    rels = []
    for table, col, ref_table, ref_col in meta.foreign_keys:
        if table in by_name and ref_table in by_name and col in by_name[table].columns:
            target = by_name[ref_table]
            ref_col = ref_col or (target.primary_key[0] if len(target.primary_key) == 1 else "")
            if ref_col in target.columns:
                rels.append(Relationship((conn, table), col, (conn, ref_table), ref_col, "declared"))
    return rels


def _sqlglot_type(kind: str) -> str:
    return {"number": "DOUBLE", "text": "VARCHAR", "date": "DATE", "datetime": "TIMESTAMP",
            "bool": "BOOLEAN"}.get(kind, "VARCHAR")


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
