"""Split one fetch into parts that the source runs side by side.

Two shapes can be split without changing the answer:

* :class:`KeySplit`, a grouped fetch cut into ranges of a grouped column (below);
* :class:`ScanSplit`, a plain read of one table (filters and projections only) cut into
  ranges of its physical rows: PostgreSQL sends a 1.5M-row result through one COPY stream
  decoded on one client core (TPC-H Q13's orders: 0.86-0.94 s whole, 0.60-0.69 s as two
  halves on two sessions).


PostgreSQL runs some aggregations on one core: TPC-H Q18's ``GROUP BY l_orderkey HAVING
sum(l_quantity) > 300`` walks the primary key in order (a GroupAggregate over an index
scan, 2.1-2.7 s at SF 1) because its partial-aggregate parallel plans cost more. When a
fetch groups by a column that leads an index of its largest table, ranges of that column
hold whole groups: ``WHERE key < b1``, ``b1 <= key < b2``, ..., ``key IS NULL`` give the
same rows as the whole query, HAVING included, and each range is an index range scan that a second
session can run at the same time (1.2 s for Q18 on two sessions).

This module only decides whether a fetch *can* be split and writes the part queries.
Whether it *should* (the source's own plan is serial and expensive, the column leads an
index, where the range bounds fall) is the source's call: see
``connections/pg_split.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

__all__ = ["SPLIT_NOTE", "KeyColumn", "KeySplit", "ScanSplit", "fetch_split", "key_split", "scan_split"]

#: Arrow schema metadata a source sets on a split fetch's result: how it was split
SPLIT_NOTE = b"dataask.split"
#: query shapes whose rows depend on more than one group at a time
_WHOLE_RESULT = (exp.Window, exp.Limit, exp.Offset, exp.Fetch, exp.Order)


@dataclass(frozen=True)
class KeyColumn:
    """A grouped column of a base table, as the source spells them (``schema`` None: unqualified)."""

    schema: str | None
    table: str
    column: str
    alias: str


@dataclass(frozen=True)
class KeySplit:
    """How to cut one fetch into ranges of one of its grouped columns (``keys``, in GROUP BY order)."""

    sql: str
    dialect: str
    keys: tuple[KeyColumn, ...]

    def parts(self, key: KeyColumn, bounds: Sequence[int], *, nullable: bool = True) -> list[str]:
        """One query per range of ``key`` between consecutive ``bounds`` (integers).

        The first range is open below and the last open above, so rows outside stale bounds
        are never lost. A ``nullable`` key adds one more query for ``key IS NULL``; it is kept
        apart because ``key < b OR key IS NULL`` would cost PostgreSQL its index range scan.
        """
        edges = sorted({int(b) for b in bounds})
        if not edges:
            return [self.sql]
        column = exp.column(key.column, table=key.alias, quoted=True)

        def number(value: int) -> exp.Expression:
            return exp.Literal.number(value)

        ranges: list[exp.Expression] = [exp.LT(this=column.copy(), expression=number(edges[0]))]
        for low, high in zip(edges, edges[1:], strict=False):
            ranges.append(exp.and_(exp.GTE(this=column.copy(), expression=number(low)),
                                   exp.LT(this=column.copy(), expression=number(high))))
        ranges.append(exp.GTE(this=column.copy(), expression=number(edges[-1])))
        if nullable:
            ranges.append(exp.Is(this=column.copy(), expression=exp.Null()))
        return [_with_condition(self.sql, self.dialect, condition) for condition in ranges]


@dataclass(frozen=True)
class ScanSplit:
    """A read of one table (``table.column`` unused) that may be cut into row ranges."""

    sql: str
    dialect: str
    table: KeyColumn

    def parts(self, conditions: Sequence[str]) -> list[str]:
        """One query per condition (source SQL over the table's alias), each ANDed to the WHERE."""
        return [_with_condition(self.sql, self.dialect, exp.condition(text, dialect=self.dialect))
                for text in conditions]


def fetch_split(sql: str, dialect: str) -> KeySplit | ScanSplit | None:
    """How ``sql`` could be split, if at all (the source decides whether it pays)."""
    return key_split(sql, dialect) or scan_split(sql, dialect)


@functools.lru_cache(maxsize=512)
def scan_split(sql: str, dialect: str) -> ScanSplit | None:
    """A :class:`ScanSplit` when ``sql`` reads one base table row by row.

    Each row then lands in exactly one part. Anything that combines rows (aggregates,
    GROUP BY, DISTINCT, window functions, ORDER BY, LIMIT/OFFSET) or a second table in the
    FROM rules it out; subqueries in WHERE (EXISTS, IN) are fine.
    """
    select = _parse(sql, dialect)
    if select is None or select.args.get("joins") or select.args.get("group") or select.args.get("distinct"):
        return None
    if any(select.args.get(k) for k in ("having", "qualify", "with_")):
        return None
    for node in select.walk():  # ORDER BY, LIMIT and OFFSET of this SELECT are among these nodes
        if isinstance(node, (exp.AggFunc, exp.Window, *_WHOLE_RESULT)) and _owner(node) is select:
            return None
    tables = _inner_tables(select)
    if len(tables) != 1:
        return None
    alias, table = next(iter(tables.items()))
    return ScanSplit(sql=sql, dialect=dialect, table=KeyColumn(schema=table.db or None, table=table.name,
                                                               column="", alias=alias))


@functools.lru_cache(maxsize=512)
def key_split(sql: str, dialect: str) -> KeySplit | None:
    """A :class:`KeySplit` when every group of ``sql`` lies within one range of a grouped column.

    That holds for a single SELECT with a plain ``GROUP BY`` that includes a column of a
    table read in its top-level FROM, joined only by inner joins (a range filter on the
    null-extended side of an outer join would change the join), and nothing that looks
    across groups: no ORDER BY, LIMIT/OFFSET, window functions or DISTINCT over the groups.
    """
    select = _parse(sql, dialect)
    if select is None or not select.args.get("group"):
        return None
    if select.args.get("distinct"):
        return None
    if any(isinstance(node, _WHOLE_RESULT) and _owner(node) is select for node in select.walk()):
        return None  # ORDER BY, LIMIT, OFFSET or a window of this SELECT
    group = select.args["group"]
    if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup")):
        return None
    tables = _inner_tables(select)
    if not tables:
        return None
    ctes = {c.alias_or_name.lower() for c in select.find_all(exp.CTE)}
    keys: list[KeyColumn] = []
    for key in group.expressions:
        if not isinstance(key, exp.Column) or not key.table:
            continue
        table = tables.get(key.table)
        if table is None or (not table.db and table.name.lower() in ctes):
            continue
        keys.append(KeyColumn(schema=table.db or None, table=table.name, column=key.name, alias=key.table))
    return KeySplit(sql=sql, dialect=dialect, keys=tuple(keys)) if keys else None


def _parse(sql: str, dialect: str) -> exp.Select | None:
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except (SqlglotError, ValueError):
        return None
    return tree if isinstance(tree, exp.Select) else None


def _with_condition(sql: str, dialect: str, condition: exp.Expression) -> str:
    """``sql`` (a SELECT that parsed when its split was made) with ``condition`` ANDed to its WHERE."""
    select = _parse(sql, dialect)
    assert select is not None
    return select.where(condition, append=True, copy=False).sql(dialect=dialect)


def _owner(node: exp.Expression) -> exp.Expression | None:
    """The SELECT (or set operation) a node belongs to."""
    parent = node.parent
    while parent is not None and not isinstance(parent, (exp.Select, exp.SetOperation)):
        parent = parent.parent
    return parent


def _inner_tables(select: exp.Select) -> dict[str, exp.Table]:
    """Alias -> base table of the top-level FROM, if every join there is an inner join."""
    sources: list[exp.Expression] = []
    from_ = select.args.get("from_")
    if from_ is not None:
        sources.append(from_.this)
    for join in select.args.get("joins") or []:
        if join.side or join.kind in ("SEMI", "ANTI") or (join.kind and join.kind not in ("INNER", "CROSS")):
            return {}
        sources.append(join.this)
    out: dict[str, exp.Table] = {}
    for source in sources:
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
            out[source.alias_or_name] = source
    return out
