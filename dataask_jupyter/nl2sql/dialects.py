"""SQL text pieces that differ per dialect, as data: quoting, literals and time functions.

Generated SQL is plain text built from these templates and then parsed and validated
(:mod:`.validate`) like any other SQL. Federated SQL is always DuckDB's dialect.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

__all__ = ["TIME_SQL", "bucket_sql", "literal", "quote_ident", "year_sql"]

_SIMPLE = re.compile(r"^[a-z_][a-z0-9_]*$")
_ALWAYS_QUOTE = frozenset(
    "all and any as asc between by case cast check column constraint create cross current date day "
    "default desc distinct else end except false fetch for foreign from full group having hour in "
    "index inner intersect interval into is join key left like limit minute month natural not null "
    "offset on or order outer over partition primary references right rows second select set some "
    "table then time timestamp to true union unique user using values when where window with year "
    "temp temporary range row filter qualify pivot unpivot".split()
)

# dialect -> unit -> template over {x}; the result is a DATE (or ISO date text in SQLite)
TIME_SQL: dict[str, dict[str, str]] = {
    "duckdb": {
        "year": "CAST(EXTRACT(year FROM {x}) AS INTEGER)",
        "quarter": "CAST(date_trunc('quarter', {x}) AS DATE)",
        "month": "CAST(date_trunc('month', {x}) AS DATE)",
        "week": "CAST(date_trunc('week', {x}) AS DATE)",
        "day": "CAST({x} AS DATE)",
        "month_of_year": "CAST(EXTRACT(month FROM {x}) AS INTEGER)",
    },
    "sqlite": {
        "year": "CAST(strftime('%Y', {x}) AS INTEGER)",
        "quarter": "printf('%s-%02d-01', strftime('%Y', {x}), ((CAST(strftime('%m', {x}) AS INTEGER) - 1) / 3) * 3 + 1)",
        "month": "date({x}, 'start of month')",
        "week": "date({x}, '-6 days', 'weekday 1')",
        "day": "date({x})",
        "month_of_year": "CAST(strftime('%m', {x}) AS INTEGER)",
    },
    "postgres": {
        "year": "CAST(EXTRACT(year FROM {x}) AS INTEGER)",
        "quarter": "CAST(date_trunc('quarter', {x}) AS DATE)",
        "month": "CAST(date_trunc('month', {x}) AS DATE)",
        "week": "CAST(date_trunc('week', {x}) AS DATE)",
        "day": "CAST({x} AS DATE)",
        "month_of_year": "CAST(EXTRACT(month FROM {x}) AS INTEGER)",
    },
    "mysql": {
        "year": "YEAR({x})",
        "quarter": "MAKEDATE(YEAR({x}), 1) + INTERVAL (QUARTER({x}) - 1) QUARTER",
        "month": "CAST(DATE_FORMAT({x}, '%Y-%m-01') AS DATE)",
        "week": "DATE(SUBDATE({x}, WEEKDAY({x})))",
        "day": "DATE({x})",
        "month_of_year": "MONTH({x})",
    },
}
TIME_SQL["bigquery"] = {
    "year": "EXTRACT(YEAR FROM {x})", "quarter": "DATE_TRUNC(DATE({x}), QUARTER)",
    "month": "DATE_TRUNC(DATE({x}), MONTH)", "week": "DATE_TRUNC(DATE({x}), ISOWEEK)",
    "day": "DATE({x})", "month_of_year": "EXTRACT(MONTH FROM {x})",
}
TIME_SQL["snowflake"] = {**TIME_SQL["postgres"]}
_QUOTE = {"mysql": "`", "bigquery": "`"}


@lru_cache(maxsize=8192)
def _plain_ok(name: str, dialect: str) -> bool:
    if not _SIMPLE.match(name) or name in _ALWAYS_QUOTE:
        return False
    try:
        tree = sqlglot.parse_one(f"SELECT {name} FROM t", read=dialect)
    except SqlglotError:
        return False
    select = tree.selects[0] if isinstance(tree, exp.Select) and tree.selects else None
    return isinstance(select, exp.Column) and select.name == name and not select.table


def quote_ident(name: str, dialect: str = "duckdb") -> str:
    """Quote ``name`` only when the dialect needs it (keywords, upper case, odd characters)."""
    if _plain_ok(name, dialect):
        return name
    q = _QUOTE.get(dialect, '"')
    return f"{q}{name.replace(q, q + q)}{q}"


def literal(value) -> str:
    """A SQL literal for a value taken from the database or the question."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return f"'{value.isoformat()}'"
    text = str(value).replace("'", "''")
    return f"'{text}'"


def bucket_sql(unit: str, expr: str, dialect: str) -> str:
    """``expr`` truncated to ``unit`` (``year`` gives the year number)."""
    table = TIME_SQL.get(dialect, TIME_SQL["duckdb"])
    return table[unit].format(x=expr)


def year_sql(expr: str, dialect: str) -> str:
    return bucket_sql("year", expr, dialect)
