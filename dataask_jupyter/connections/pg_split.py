"""Should PostgreSQL run a fetch in parts on several sessions? Where do the parts fall?

Grouped fetches (:func:`split_bounds`):

Splitting pays only where PostgreSQL's own plan is serial and long: a parallel plan
already uses the server's cores, and a cheap query gains less than a second session
costs. So :func:`split_bounds` asks the planner first (``EXPLAIN``, no execution) and
splits only plans with no Gather node and a large estimated cost, on an integer column
that leads a valid index (each range is then an index range scan, not a second full
scan). The bounds are quantiles of the column's histogram in ``pg_stats``, so ranges
hold about equal rows; without statistics, min and max (read off the index) are cut
evenly.

Plain reads of one table (:func:`scan_ranges`) split by physical position (``ctid``
ranges, a TID Range Scan since PostgreSQL 14) when the planner expects many rows: the
gain is a second COPY stream and a second decoding core, so a filter that keeps few rows
is left whole. Every row lies in exactly one range; the last one is open, so pages added
since the statistics were taken are read too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from ..federation.split import KeyColumn, KeySplit, ScanSplit

__all__ = ["MIN_SCAN_ROWS", "MIN_SERIAL_COST", "scan_ranges", "split_bounds"]

#: planner cost units (a sequential page read is 1): about a second of one core here;
#: TPC-H Q18's serial aggregation over lineitem (SF 1) is estimated at 474k
MIN_SERIAL_COST = 200_000.0
_INTEGERS = ("smallint", "integer", "bigint")
#: rows the planner must expect before a plain read is cut into ctid ranges
MIN_SCAN_ROWS = 500_000.0


def split_bounds(raw: psycopg.Connection, split: KeySplit, parts: int) -> tuple[KeyColumn, list[int], bool] | None:
    """``(grouped column to cut, parts - 1 increasing bounds, nullable?)``, or ``None``: run it whole."""
    if parts < 2:
        return None
    try:
        with raw.transaction():  # read-only like the session; an error leaves nothing behind
            if not _serial_and_costly(raw, split.sql):
                return None
            for key in split.keys:
                relation = _relation(key)
                nullable = _leading_integer_index(raw, relation, key.column)
                if nullable is None:
                    continue
                bounds = _histogram_quantiles(raw, relation, key.column, parts) or \
                    _even_bounds(raw, relation, key.column, parts)
                if bounds and len(bounds) == parts - 1:
                    return key, bounds, nullable
    except psycopg.Error:
        pass  # no plan, no statistics: the whole query runs as before
    return None


def scan_ranges(raw: psycopg.Connection, split: ScanSplit, parts: int) -> list[str] | None:
    """``ctid`` conditions on ``split``'s table, one per part, or ``None``: read it whole."""
    if parts < 2 or raw.info.server_version < 140000:  # TID Range Scan is new in 14
        return None
    table = split.table
    try:
        with raw.transaction():
            row = raw.execute("SELECT c.relpages, c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)",
                              [_relation(table)]).fetchone()
            if not row or row[1] not in ("r", "m") or row[0] < parts * 8:
                return None
            plan = _plan(raw, split.sql)
            if plan is None or float(plan.get("Plan Rows", 0)) < MIN_SCAN_ROWS:
                return None
    except psycopg.Error:
        return None
    pages = int(row[0])
    edges = [pages * j // parts for j in range(1, parts)]
    ctid = f"{_quote(table.alias)}.ctid"
    out = [f"{ctid} < '({edges[0]},0)'::tid"]
    out += [f"{ctid} >= '({low},0)'::tid AND {ctid} < '({high},0)'::tid" for low, high in zip(edges, edges[1:], strict=False)]
    out.append(f"{ctid} >= '({edges[-1]},0)'::tid")
    return out


def _relation(key: KeyColumn) -> str:
    """``key``'s table as ``to_regclass`` reads it (quoted; unqualified: the search path decides)."""
    return ".".join(_quote(p) for p in (key.schema, key.table) if p)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _plan(raw: psycopg.Connection, sql: str) -> dict | None:
    """The planner's plan tree for ``sql`` (``EXPLAIN``: nothing runs)."""
    row = raw.execute("EXPLAIN (FORMAT JSON) " + sql).fetchone()
    plan = row[0] if row else None
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"] if plan else None


def _serial_and_costly(raw: psycopg.Connection, sql: str) -> bool:
    root = _plan(raw, sql)
    if not root or float(root.get("Total Cost", 0)) < MIN_SERIAL_COST:
        return False
    stack = [root]
    while stack:
        node = stack.pop()
        if str(node.get("Node Type", "")).startswith("Gather"):
            return False
        stack.extend(node.get("Plans", ()))
    return True


def _leading_integer_index(raw: psycopg.Connection, relation: str, column: str) -> bool | None:
    """Whether ``column`` may be NULL, if it is an integer leading a valid full index; else ``None``."""
    row = raw.execute(
        "SELECT format_type(a.atttypid, NULL), NOT a.attnotnull FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = to_regclass(%s) AND a.attname = %s AND i.indisvalid "
        "AND i.indpred IS NULL LIMIT 1",
        [relation, column],
    ).fetchone()
    return bool(row[1]) if row and row[0] in _INTEGERS else None


def _histogram_quantiles(raw: psycopg.Connection, relation: str, column: str, parts: int) -> list[int] | None:
    row = raw.execute(
        "SELECT s.histogram_bounds::text FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname "
        "WHERE c.oid = to_regclass(%s) AND s.attname = %s LIMIT 1",
        [relation, column],
    ).fetchone()
    if not row or not row[0]:
        return None
    values = [int(v) for v in row[0].strip("{}").split(",") if v]
    if len(values) < parts + 1:
        return None
    bounds = [values[len(values) * j // parts] for j in range(1, parts)]
    return bounds if len(set(bounds)) == len(bounds) else None


def _even_bounds(raw: psycopg.Connection, relation: str, column: str, parts: int) -> list[int] | None:
    col = _quote(column)
    row = raw.execute(f"SELECT min({col}), max({col}) FROM {relation}").fetchone()
    if not row or row[0] is None or row[1] is None or row[1] - row[0] < parts:
        return None
    low, high = int(row[0]), int(row[1])
    return [low + (high - low) * j // parts for j in range(1, parts)]
