"""Semi-join reduction: fetch the small side of a cross-source join first, then send its
join keys to the big side as an ``IN`` list ("dynamic filtering" in Trino's words).

Without it, ``part JOIN lineitem`` across two databases moves all of ``lineitem`` even
when the filter on ``part`` keeps 200 rows. With it, the source of ``lineitem`` returns
only rows whose ``l_partkey`` is among those 200 keys.

Correctness rests on one rule: a fetch ``F`` may be cut to ``F.a IN (values of G.b)``
when the residual query can never use a row of ``F`` whose ``a`` is not among ``G.b``'s
values. That holds when ``F.a = G.b`` is a top-level conjunct of the WHERE of the SELECT
whose FROM lists ``F`` (``G`` may sit in that SELECT or in an enclosing one: a correlated
subquery only looks at ``F`` rows matching some outer row), in the ON of an inner join,
or in the ON of the outer join where ``F`` is the null-supplying side; and for
``F.a IN (SELECT G.b ...)``. The cut keeps a superset of the useful rows; DuckDB's join
still decides, so results are unchanged. Only integer and text keys are sent, and only
up to :data:`MAX_KEYS` distinct values; otherwise ``F`` runs unreduced.

Which fetch waits for which is decided before anything runs, from row estimates
(:func:`estimate_rows`): a fetch waits for a reducer estimated at most half its size.
Estimates only strictly decrease along an edge, so the waits never form a cycle. Waiting
must also pay: a reducer that scans a big table to return a few rows (TPC-H Q10's
``orders JOIN lineitem``) is not waited for by a target that is cheap to fetch whole
anyway; :func:`fetch_cost` compares rows scanned and rows shipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .model import SourceFetch
from .predicates import conjuncts

__all__ = ["MAX_KEYS", "Edge", "plan_reductions", "reduced_sql"]

MAX_KEYS = 100_000  # distinct keys sent in one IN list
MAX_TEXT_KEYS = 20_000
# in-process DuckDB scans fast and parses long IN lists slowly: cut it only with short lists
_KEY_CAP = {"duckdb": 10_000, "sqlite": 50_000}
REDUCER_MAX_ROWS = 2_000_000  # do not wait for a reducer estimated bigger than this
MIN_TARGET_ROWS = 5_000  # smaller fetches are not worth waiting for ...
TINY_REDUCER_ROWS = 1_000  # ... unless the reducer is tiny
DEFAULT_ROWS = 100_000.0  # a table whose size the source does not tell
SELECTIVE = 0.5  # a reducer must keep at most this share of its table
# relative cost per row scanned at the source and per row shipped to the join, by dialect
# (measured on TPC-H: DuckDB hands Arrow over in place; PostgreSQL ships binary COPY decoded
# in C; SQLite and MySQL rows pass through Python objects)
_SCAN_COST = {"duckdb": 0.01}
_SHIP_COST = {"duckdb": 0.2, "sqlite": 5.0, "mysql": 2.0}
DEFAULT_SCAN_COST, DEFAULT_SHIP_COST = 0.1, 1.0
WAIT_BONUS = 1.25  # parallel fetches compete for the same cores, and fewer rows join faster

_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "INT", "INT2", "INT4", "INT8")
_TEXT = ("VARCHAR", "CHAR", "TEXT", "STRING", "BPCHAR")


@dataclass(frozen=True)
class Edge:
    """``target.column`` may be cut to the values of ``reducer.reducer_column``."""

    target: str
    column: str
    reducer: str
    reducer_column: str


# -- finding edges in the residual query ---------------------------------------------------------
def _from_aliases(select: exp.Select, fetch_names: set[str]) -> dict[str, tuple[str, str | None]]:
    """Alias -> (fetch name, how it is joined) for fetches read directly in ``select``'s FROM."""
    out: dict[str, tuple[str, str | None]] = {}
    frm = select.args.get("from_")
    items = [(frm.this, "from")] if frm is not None else []
    items += [(j.this, (j.side or "").upper() or "inner") for j in select.args.get("joins") or []]
    for node, how in items:
        if isinstance(node, exp.Table) and node.name in fetch_names and not node.args.get("db"):
            out[node.alias_or_name] = (node.name, how)
    return out


def _column_of(node: exp.Expression, aliases: Mapping[str, str]) -> tuple[str, str] | None:
    if isinstance(node, exp.Column) and node.table in aliases:
        return aliases[node.table], node.name
    return None


def find_edges(residual_sql: str, fetches: Sequence[SourceFetch]) -> list[Edge]:
    """Every (target, reducer) pair the rule in the module docstring allows."""
    names = {f.name for f in fetches}
    try:
        tree = sqlglot.parse_one(residual_sql, read="duckdb")
    except SqlglotError:
        return []
    every_alias: dict[str, str] = {}  # aliases are unique in the residual query
    for table in tree.find_all(exp.Table):
        if table.name in names:
            every_alias[table.alias_or_name] = table.name
    edges: list[tuple[str, Edge]] = []  # (alias of the target it was found for, edge)
    for select in tree.find_all(exp.Select):
        local = _from_aliases(select, names)
        if not local:
            continue
        candidates: list[tuple[exp.Expression, set[str]]] = []
        for cond in conjuncts(select.args.get("where")):
            candidates.append((cond, set(local)))  # any table of this FROM
        joins = select.args.get("joins") or []
        all_inner = all(not j.side for j in joins)
        for join in joins:
            side = (join.side or "").upper()
            target = join.this.alias_or_name if isinstance(join.this, exp.Table) else None
            if side in ("", "LEFT") and not join.args.get("using"):
                # inner joins only: ON is then just another WHERE; else only the joined side is safe
                targets = set(local) if all_inner else ({target} & set(local))
                for cond in conjuncts(join.args.get("on")):
                    candidates.append((cond, targets))
        for cond, targets in candidates:
            edges.extend(_edges_from(cond, targets, local, every_alias))
    # a fetch read under several aliases (shared scan) may be cut only by what cuts them all
    readers: dict[str, set[str]] = {}
    for alias, fetch in every_alias.items():
        readers.setdefault(fetch, set()).add(alias)
    found: dict[tuple[str, str, str, str], set[str]] = {}
    unique: dict[tuple[str, str, str, str], Edge] = {}
    for alias, e in edges:
        if e.target != e.reducer:
            key = (e.target, e.column, e.reducer, e.reducer_column)
            found.setdefault(key, set()).add(alias)
            unique.setdefault(key, e)
    return [e for key, e in unique.items() if found[key] >= readers.get(e.target, set())]


def _edges_from(cond, targets, local, every_alias) -> list[tuple[str, Edge]]:
    local_fetch = {a: f for a, (f, _) in local.items() if a in targets}
    if isinstance(cond, exp.EQ):
        out = []
        for left, right in ((cond.this, cond.expression), (cond.expression, cond.this)):
            target, reducer = _column_of(left, local_fetch), _column_of(right, every_alias)
            if target and reducer:
                out.append((left.table, Edge(target[0], target[1], reducer[0], reducer[1])))
        return out
    if isinstance(cond, exp.In) and cond.args.get("query") is not None:
        alias = cond.this.table if isinstance(cond.this, exp.Column) else ""
        target = _column_of(cond.this, local_fetch)
        sub = cond.args["query"]
        sub = sub.this if isinstance(sub, exp.Subquery) else sub
        if not target or not isinstance(sub, exp.Select) or len(sub.expressions) != 1:
            return []
        inner = _from_aliases(sub, set(every_alias.values()))
        projection = sub.expressions[0]
        projection = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(projection, exp.Star) and len(inner) == 1 and not sub.args.get("joins"):
            fetch = next(iter(inner.values()))[0]
            return [(alias, Edge(target[0], target[1], fetch, "*"))]
        reducer = _column_of(projection, {a: f for a, (f, _) in inner.items()})
        if reducer:
            return [(alias, Edge(target[0], target[1], reducer[0], reducer[1]))]
    return []


# -- estimates -----------------------------------------------------------------------------------
def _selectivity(cond: exp.Expression) -> float:
    if isinstance(cond, exp.Paren):
        return _selectivity(cond.this)
    if isinstance(cond, exp.And):
        return _selectivity(cond.this) * _selectivity(cond.expression)
    if isinstance(cond, exp.Or):  # (brand = 1 AND size < 5) OR (...): the parts add up
        return min(1.0, _selectivity(cond.this) + _selectivity(cond.expression))
    if isinstance(cond, exp.Not):
        return 1.0 - min(0.5, _selectivity(cond.this))
    if isinstance(cond, exp.EQ):
        literal = any(isinstance(side, exp.Literal) or isinstance(side, exp.Cast) for side in (cond.this, cond.expression))
        return 0.05 if literal else 0.5
    if isinstance(cond, exp.In):
        return min(0.5, 0.05 * max(1, len(cond.expressions))) if cond.expressions else 0.2
    if isinstance(cond, (exp.Like, exp.ILike)):
        return 0.2
    if isinstance(cond, exp.Between):
        return 0.15
    if isinstance(cond, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return 0.35
    if isinstance(cond, exp.Is):
        return 0.1
    return 0.5


def estimate_rows(fetch: SourceFetch, table_rows: Callable[[str], float | None]) -> float:
    """Rough row count of ``fetch``: the largest table it reads times the filters' selectivity."""
    sizes = [table_rows(t) for t in fetch.tables]
    base = max((s for s in sizes if s is not None), default=DEFAULT_ROWS)
    try:
        tree = sqlglot.parse_one(fetch.sql, read=fetch.dialect)
    except SqlglotError:
        return base
    head = tree
    while isinstance(head, (exp.Subquery, exp.SetOperation)):
        head = head.this if isinstance(head, exp.Subquery) else head.left
    if not isinstance(head, exp.Select):
        return base
    rows = base
    for cond in conjuncts(head.args.get("where")):
        rows *= _selectivity(cond)
    if head.args.get("group"):
        rows *= 0.1
        for cond in conjuncts(head.args.get("having")):
            rows *= _selectivity(cond)
    elif head.find(exp.AggFunc) is not None and not head.args.get("group"):
        rows = 1.0
    limit = head.args.get("limit")
    if limit is not None and isinstance(limit.expression, exp.Literal) and limit.expression.is_int:
        rows = min(rows, float(limit.expression.name))
    return max(rows, 1.0)


def fetch_cost(dialect: str, scanned: float, shipped: float) -> float:
    """Relative time of a fetch that scans ``scanned`` rows and ships ``shipped`` rows."""
    return (scanned * _SCAN_COST.get(dialect, DEFAULT_SCAN_COST)
            + shipped * _SHIP_COST.get(dialect, DEFAULT_SHIP_COST))


def plan_reductions(fetches: Sequence[SourceFetch], residual_sql: str,
                    table_rows: Callable[[str], float | None]) -> dict[str, list[Edge]]:
    """Fetch name -> the edges it waits for (empty when it starts at once)."""
    if len(fetches) < 2:
        return {}
    edges = find_edges(residual_sql, fetches)
    if not edges:
        return {}
    est = {f.name: estimate_rows(f, table_rows) for f in fetches}
    base = {f.name: max([table_rows(t) or DEFAULT_ROWS for t in f.tables] or [DEFAULT_ROWS]) for f in fetches}
    dialect = {f.name: f.dialect for f in fetches}
    sized = {f.name for f in fetches if f.tables and all(table_rows(t) is not None for t in f.tables)}

    def cost(name: str, shipped: float) -> float:
        """Relative fetch time; 0 when the source did not tell its table sizes (then only rows decide)."""
        return fetch_cost(dialect[name], base[name], shipped) if name in sized else 0.0

    reduced: dict[str, float] = {}  # estimate after its own cuts, once decided
    waits: dict[str, list[Edge]] = {}
    remaining = set(est)
    while remaining:
        # decide the fetch that will be smallest given the cuts already decided; it may only
        # wait for fetches decided before it, so the waits never form a cycle
        options = {name: _choose(name, edges, est, base, reduced, cost) for name in remaining}
        name = min(remaining, key=lambda n: (options[n][1], n))
        chosen, size = options[name]
        if chosen:
            waits[name] = chosen
        reduced[name] = size
        remaining.discard(name)
    return waits


def _choose(name: str, edges: list[Edge], est: dict[str, float], base: dict[str, float],
            reduced: dict[str, float], cost: Callable[[str, float], float]) -> tuple[list[Edge], float]:
    """The decided reducers worth waiting for, and the estimate of ``name`` after their cuts."""
    whole = cost(name, est[name]) or float("inf")
    chosen = [
        e for e in edges
        if e.target == name and e.reducer in reduced
        and reduced[e.reducer] <= REDUCER_MAX_ROWS and reduced[e.reducer] * 2 <= est[name]
        and (est[name] >= MIN_TARGET_ROWS or reduced[e.reducer] <= TINY_REDUCER_ROWS)
        and reduced[e.reducer] <= base[e.reducer] * SELECTIVE  # a whole table's keys cut nothing
        and cost(e.reducer, reduced[e.reducer]) < whole  # not worth waiting for a longer fetch
    ]
    if not chosen:
        return [], est[name]
    factor = min(min(1.0, reduced[e.reducer] / max(base[e.reducer], 1.0)) for e in chosen)
    size = max(1.0, est[name] * factor)
    waited = max(cost(e.reducer, reduced[e.reducer]) for e in chosen)
    if waited + cost(name, size) >= whole * WAIT_BONUS:
        return [], est[name]
    return chosen, size


# -- building the reduced SQL --------------------------------------------------------------------
def _keys(table: pa.Table, column: str) -> pa.Array | None:
    if column == "*":
        if table.num_columns != 1:
            return None
        values = table.column(0)
    elif column in table.column_names:
        values = table.column(column)
    else:
        return None
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.unique(values.drop_null())


def _family(type_name: str | None) -> str | None:
    if not type_name:
        return None
    upper = type_name.upper()
    if upper.startswith(_INTEGER) and not upper.startswith(("INTERVAL",)):
        return "int"
    if upper.startswith(_TEXT):
        return "text"
    return None


def _condition(column: str, keys: pa.Array, family: str, dialect: str) -> str | None:
    if family == "int" and pa.types.is_integer(keys.type):
        if len(keys) > _KEY_CAP.get(dialect, MAX_KEYS):
            return None
        numbers = [str(int(v)) for v in keys.to_pylist()]
        if dialect == "postgres":  # one array literal: PostgreSQL parses it 5x faster than an IN list
            return f"{column} = ANY('{{{','.join(numbers)}}}'::bigint[])"
        return f"{column} IN ({', '.join(numbers)})"
    return _text_condition(column, keys, family, dialect)


def _text_condition(column: str, keys: pa.Array, family: str, dialect: str) -> str | None:
    if family == "text" and (pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type)):
        if len(keys) > MAX_TEXT_KEYS:
            return None
        return f"{column} IN ({', '.join(exp.Literal.string(v).sql(dialect=dialect) for v in keys.to_pylist())})"
    return None


def reduced_sql(fetch: SourceFetch, edges: Sequence[Edge], fetched: Mapping[str, pa.Table]) -> tuple[str, str] | None:
    """``(SQL to run, short form for display)`` of ``fetch`` cut by ``edges``; ``None``: run it as is.

    The original SQL is wrapped (``SELECT * FROM (<sql>) WHERE "col" IN (...)``), which
    filters exactly its output rows; every database here pushes that filter inside.
    """
    conditions, shown = [], []
    for edge in edges:
        if edge.column not in fetch.columns:
            continue
        family = _family(fetch.column_types.get(edge.column))
        keys = _keys(fetched[edge.reducer], edge.reducer_column)
        if family is None or keys is None:
            continue
        column = exp.column(edge.column, table="__r", quoted=True).sql(dialect=fetch.dialect)
        if len(keys) == 0:
            conditions.append("1 = 0")
            shown.append(f"{column} IN (<no keys from {edge.reducer}>)")
            continue
        condition = _condition(column, keys, family, fetch.dialect)
        if condition is None:
            continue
        conditions.append(condition)
        shown.append(f"{column} IN (<{len(keys):,} keys from {edge.reducer}>)")
    if not conditions:
        return None
    head = f"SELECT * FROM (\n{fetch.sql}\n) AS __r WHERE "
    return head + " AND ".join(conditions), head + " AND ".join(shown)


def template_sql(fetch: SourceFetch) -> str:
    """What the guard checks for a reduced fetch: the same wrapper with one key."""
    return f"SELECT * FROM (\n{fetch.sql}\n) AS __r WHERE 1 IN (1)"
