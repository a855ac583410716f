"""The concrete query an offline answer runs: tables, columns, joins, time ranges.

:class:`QuerySpec` is produced by :mod:`.resolve` and turned into SQL by :mod:`.render`.
Joins only follow relationships from the many side to the one side (``orders`` ->
``customers``), so adding a dimension never multiplies the rows being summed.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field

from .schema import Relationship, SchemaCatalog

__all__ = ["ColRef", "CountFilter", "DimSpec", "FilterSpec", "MeasureSpec", "Period", "QuerySpec", "Reach",
           "reach"]

Key = tuple[str, str]
HOP = 0.9
CROSS_HOP = 0.85
MAX_HOPS = 3


@dataclass(frozen=True)
class ColRef:
    table: Key
    column: str


@dataclass
class MeasureSpec:
    """``agg`` over ``columns`` (none: rows; two: their product). ``raw`` means no aggregation."""

    agg: str
    table: Key
    columns: tuple[str, ...] = ()
    alias: str = "value"
    raw: bool = False
    distinct_key: ColRef | None = None  # COUNT(DISTINCT key) when counting a related entity


@dataclass
class DimSpec:
    col: ColRef
    bucket: str | None = None
    alias: str = ""
    entity_key: tuple[str, ...] = ()  # group by these too (the entity's primary key)


@dataclass
class FilterSpec:
    col: ColRef
    op: str  # = != > >= < <= between in not_in month_of_year
    values: list = field(default_factory=list)


@dataclass
class CountFilter:
    """``parent.key IN (SELECT fk FROM child GROUP BY fk HAVING COUNT(*) op n)``."""

    parent: ColRef
    child: ColRef
    op: str
    number: float


@dataclass
class Period:
    """A time range on a column: ``[start, end)`` dates, or whole years on an integer year column."""

    col: ColRef
    start: dt.date | None
    end: dt.date | None
    label: str
    integer_year: bool = False


@dataclass
class QuerySpec:
    """Everything :mod:`.render` needs to write one SELECT."""

    base: Key
    measures: list[MeasureSpec] = field(default_factory=list)
    dims: list[DimSpec] = field(default_factory=list)
    filters: list[FilterSpec] = field(default_factory=list)
    count_filters: list[CountFilter] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)  # OR-ed together
    compare: tuple[Period, Period] | None = None  # (current, baseline)
    projection: list[ColRef] | None = None  # list mode; None with no measures = all columns
    order: list[tuple[str, str]] = field(default_factory=list)  # (alias or column key, ASC/DESC)
    order_col: ColRef | None = None
    limit: int | None = None
    share: bool = False
    share_of_filter: bool = False
    notes: list[str] = field(default_factory=list)

    def tables(self) -> set[Key]:
        used = {self.base}
        for m in self.measures:
            used.add(m.table)
            if m.distinct_key:
                used.add(m.distinct_key.table)
        for d in self.dims:
            used.add(d.col.table)
        for f in self.filters:
            used.add(f.col.table)
        for p in self.periods + list(self.compare or ()):
            used.add(p.col.table)
        for c in self.projection or ():
            used.add(c.table)
        if self.order_col:
            used.add(self.order_col.table)
        return used


@dataclass
class Reach:
    """Tables reachable from a base along many-to-one relationships."""

    base: Key
    factor: dict[Key, float]
    parent: dict[Key, Relationship]

    def path(self, key: Key) -> list[Relationship]:
        out = []
        while key != self.base:
            rel = self.parent[key]
            out.append(rel)
            key = rel.from_table
        return list(reversed(out))

    def joins(self, keys) -> list[Relationship]:
        """Relationships to join, in order, to reach all ``keys`` from the base."""
        out: list[Relationship] = []
        for key in sorted(keys, key=lambda k: (self.factor.get(k, 0) * -1, k)):
            for rel in self.path(key):
                if rel not in out:
                    out.append(rel)
        return out


def reach(catalog: SchemaCatalog, base: Key) -> Reach:
    """BFS over many-to-one relationships from ``base`` (at most three hops)."""
    factor = {base: 1.0}
    parent: dict[Key, Relationship] = {}
    queue = deque([(base, 0)])
    while queue:
        key, depth = queue.popleft()
        if depth >= MAX_HOPS:
            continue
        for rel in sorted(catalog.relationships, key=lambda r: (r.source != "declared", r.describe())):
            if rel.from_table != key or rel.to_table in factor:
                continue
            factor[rel.to_table] = factor[key] * (CROSS_HOP if rel.cross_connection else HOP)
            parent[rel.to_table] = rel
            queue.append((rel.to_table, depth + 1))
    return Reach(base, factor, parent)
