"""Validation of generated SQL before anything runs: the read-only guard, then a schema check.

Every statement from any engine (a taught pair, the offline engine, an LLM) goes through
:func:`validate_sql`: :func:`dataask_jupyter.safety.assert_read_only` in the dialect the
statement runs in, then a parse in which every table must exist in the catalog (as
``connection.table`` when federated) and every column must resolve against those tables
(sqlglot ``qualify``). Text from the schema or from a model is never executed otherwise.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from ..safety import assert_read_only
from .errors import SchemaCheckFailed
from .schema import SchemaCatalog

__all__ = ["referenced_tables", "validate_sql"]


def referenced_tables(tree: exp.Expression) -> list[tuple[str, str]]:
    """``(qualifier, table)`` of every real table in a parsed statement (CTE names left out)."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    out = []
    for t in tree.find_all(exp.Table):
        if not t.name or (not t.db and t.name.lower() in ctes):
            continue
        if isinstance(t.this, exp.Func) or isinstance(t.parent, exp.Func):
            continue
        out.append((t.db or "", t.name))
    return out


def validate_sql(sql: str, *, dialect: str, catalog: SchemaCatalog, connection: str | None,
                 federated: bool) -> exp.Expression:
    """Guard and schema-check one statement; return its parse tree.

    Parameters
    ----------
    sql
        The statement.
    dialect
        Dialect it runs in (``duckdb`` when federated).
    catalog
        Schema to check against.
    connection
        The single connection it runs on (ignored when ``federated``).
    federated
        Tables must then be written ``connection.table``.

    Raises
    ------
    dataask_jupyter.errors.UnsafeSQL
        The read-only guard refused it.
    SchemaCheckFailed
        A table or column does not exist.
    """
    tree = assert_read_only(sql, dialect=dialect)
    names = {(k[0].lower(), k[1].lower()) for k in catalog.tables}
    for db, name in referenced_tables(tree):
        if federated:
            if (db.lower(), name.lower()) not in names:
                raise SchemaCheckFailed(f"Unknown table '{db + '.' if db else ''}{name}': federated SQL must "
                                        "name tables as connection.table of the workspace.")
        elif (str(connection).lower(), name.lower()) not in names or (db and db.lower() not in
                                                                        (str(connection).lower(), "main")):
            raise SchemaCheckFailed(f"Unknown table '{name}' in connection '{connection}'.")
    schema = catalog.sqlglot_schema(federated, connection)
    try:
        qualify(tree.copy(), schema=schema, dialect=dialect, validate_qualify_columns=True)
    except OptimizeError as exc:
        raise SchemaCheckFailed(f"The SQL does not match the schema: {str(exc).splitlines()[0]}") from None
    except SqlglotError as exc:
        raise SchemaCheckFailed(f"The SQL could not be checked: {str(exc).splitlines()[0]}") from None
    return tree
