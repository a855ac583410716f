"""Keys, foreign keys and comments per dialect, read with guarded catalog queries.

Every function takes ``run(sql) -> list[tuple]`` (a read-only, guarded execution on one
connection) and returns :class:`Metadata`. Catalog queries that a database does not
support simply yield nothing: the names of tables and columns still work without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

__all__ = ["Metadata", "read_metadata"]

Runner = Callable[[str], list[tuple]]


@dataclass
class Metadata:
    """What a database declares beyond names and types.

    Attributes
    ----------
    primary_keys
        table -> key columns.
    foreign_keys
        ``(table, column, referenced table, referenced column)``.
    table_comments, column_comments
        table -> text; ``(table, column)`` -> text.
    """

    primary_keys: dict[str, list[str]] = field(default_factory=dict)
    foreign_keys: list[tuple[str, str, str, str]] = field(default_factory=list)
    table_comments: dict[str, str] = field(default_factory=dict)
    column_comments: dict[tuple[str, str], str] = field(default_factory=dict)


def read_metadata(dialect: str, run: Runner) -> Metadata:
    """Read keys and comments of one connection; never raises for unsupported catalogs."""
    reader = _READERS.get(dialect)
    meta = Metadata()
    if reader is None:
        return meta
    for part in reader:
        try:
            part(run, meta)
        except Exception:  # a catalog view the database or its permissions do not offer
            continue
    return meta


# -- DuckDB ----------------------------------------------------------------------------------
_DUCK_SCOPE = "database_name = current_database() AND schema_name = 'main'"


def _duck_constraints(run: Runner, meta: Metadata) -> None:
    rows = run(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
        f"referenced_column_names FROM duckdb_constraints() WHERE {_DUCK_SCOPE} "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
    )
    for table, kind, cols, ref_table, ref_cols in rows:
        cols = list(cols or [])
        if kind == "PRIMARY KEY":
            meta.primary_keys[table] = cols
        elif ref_table and len(cols) == 1 and ref_cols:
            meta.foreign_keys.append((table, cols[0], ref_table, list(ref_cols)[0]))


def _duck_comments(run: Runner, meta: Metadata) -> None:
    for table, column, comment in run(
        f"SELECT table_name, column_name, comment FROM duckdb_columns() WHERE {_DUCK_SCOPE} AND comment IS NOT NULL"
    ):
        meta.column_comments[(table, column)] = str(comment)
    for table, comment in run(
        f"SELECT table_name, comment FROM duckdb_tables() WHERE {_DUCK_SCOPE} AND comment IS NOT NULL"
    ):
        meta.table_comments[table] = str(comment)
    for table, comment in run(
        f"SELECT view_name, comment FROM duckdb_views() WHERE {_DUCK_SCOPE} AND comment IS NOT NULL"
    ):
        meta.table_comments[table] = str(comment)


# -- SQLite: parse the stored DDL ---------------------------------------------------------------
def _sqlite_ddl(run: Runner, meta: Metadata) -> None:
    for table, ddl in run("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"):
        try:
            tree = sqlglot.parse_one(ddl, read="sqlite")
        except SqlglotError:
            continue
        schema = tree.this if isinstance(tree, exp.Create) else None
        if not isinstance(schema, exp.Schema):
            continue
        for item in schema.expressions:
            if isinstance(item, exp.ColumnDef):
                for cons in item.constraints:
                    kind = cons.kind
                    if isinstance(kind, exp.PrimaryKeyColumnConstraint):
                        meta.primary_keys.setdefault(table, []).append(item.name)
                    elif isinstance(kind, exp.Reference):
                        _sqlite_ref(meta, table, [item.name], kind)
                comment = _trailing_comment(item)
                if comment:
                    meta.column_comments[(table, item.name)] = comment
            elif isinstance(item, exp.PrimaryKey):
                meta.primary_keys[table] = [e.name for e in item.expressions]
            elif isinstance(item, exp.ForeignKey):
                ref = item.args.get("reference")
                if isinstance(ref, exp.Reference):
                    _sqlite_ref(meta, table, [e.name for e in item.expressions], ref)


def _sqlite_ref(meta: Metadata, table: str, cols: list[str], ref: exp.Reference) -> None:
    target = ref.this
    if isinstance(target, exp.Schema):
        ref_table = target.this.name if target.this else ""
        ref_cols = [e.name for e in target.expressions]
    else:
        ref_table, ref_cols = (target.name if target else ""), []
    if ref_table and len(cols) == 1:
        meta.foreign_keys.append((table, cols[0], ref_table, ref_cols[0] if ref_cols else ""))


def _trailing_comment(node: exp.Expression) -> str | None:
    comments = [c.strip() for c in (node.comments or []) if c and c.strip()]
    return " ".join(comments) or None


# -- PostgreSQL / MySQL: information_schema ----------------------------------------------------
def _pg_keys(run: Runner, meta: Metadata) -> None:
    rows = run(
        "SELECT tc.table_name, tc.constraint_type, kcu.column_name, ccu.table_name, ccu.column_name "
        "FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
        "AND tc.table_schema = kcu.table_schema "
        "LEFT JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name "
        "AND tc.constraint_type = 'FOREIGN KEY' "
        "WHERE tc.table_schema = current_schema() AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
    )
    _keys_from_rows(rows, meta)


def _pg_comments(run: Runner, meta: Metadata) -> None:
    rows = run(
        "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
        "WHERE n.nspname = current_schema() AND col_description(c.oid, a.attnum) IS NOT NULL"
    )
    for table, column, comment in rows:
        meta.column_comments[(table, column)] = str(comment)
    for table, comment in run(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND obj_description(c.oid, 'pg_class') IS NOT NULL"
    ):
        meta.table_comments[table] = str(comment)


def _mysql_keys(run: Runner, meta: Metadata) -> None:
    rows = run(
        "SELECT k.TABLE_NAME, CASE WHEN k.CONSTRAINT_NAME = 'PRIMARY' THEN 'PRIMARY KEY' ELSE 'FOREIGN KEY' END, "
        "k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME "
        "FROM information_schema.KEY_COLUMN_USAGE k WHERE k.TABLE_SCHEMA = DATABASE() "
        "AND (k.CONSTRAINT_NAME = 'PRIMARY' OR k.REFERENCED_TABLE_NAME IS NOT NULL)"
    )
    _keys_from_rows(rows, meta)


def _mysql_comments(run: Runner, meta: Metadata) -> None:
    for table, column, comment in run(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_COMMENT <> ''"
    ):
        meta.column_comments[(table, column)] = str(comment)


def _keys_from_rows(rows, meta: Metadata) -> None:
    for table, kind, column, ref_table, ref_column in rows:
        if kind == "PRIMARY KEY":
            meta.primary_keys.setdefault(table, []).append(column)
        elif ref_table and ref_column:
            meta.foreign_keys.append((table, column, ref_table, ref_column))


_READERS = {
    "duckdb": (_duck_constraints, _duck_comments),
    "sqlite": (_sqlite_ddl,),
    "postgres": (_pg_keys, _pg_comments),
    "mysql": (_mysql_keys, _mysql_comments),
}
