"""Last pass: write the SQL of a :class:`QuerySpec` in the right dialect.

One connection: that database's dialect and bare table names. Several connections:
DuckDB SQL with ``connection.table`` names, run by the federation engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dialects import bucket_sql, literal, quote_ident
from .plan import ColRef, MeasureSpec, Period, QuerySpec, reach
from .resolve_time import period_tag
from .schema import SchemaCatalog

__all__ = ["Rendered", "render"]

_AGG = {"sum": "SUM", "avg": "AVG", "min": "MIN", "max": "MAX", "median": "MEDIAN", "count_col": "COUNT"}


@dataclass
class Rendered:
    """SQL plus where it runs."""

    sql: str
    dialect: str
    connections: list[str]
    federated: bool


class _Writer:
    def __init__(self, spec: QuerySpec, catalog: SchemaCatalog) -> None:
        self.spec, self.catalog = spec, catalog
        self.r = reach(catalog, spec.base)
        tables = spec.tables()
        self.joins = self.r.joins(tables - {spec.base})
        keys = [spec.base] + [j.to_table for j in self.joins]
        self.connections = sorted({k[0] for k in keys} | {cf.child.table[0] for cf in spec.count_filters})
        self.federated = len(self.connections) > 1
        self.dialect = "duckdb" if self.federated else catalog.dialect(spec.base[0])
        self.alias: dict[tuple[str, str], str] = {}
        if len(keys) > 1:
            for k in keys:
                a = "".join(w[0] for w in catalog.tables[k].words) or "t"
                while a in self.alias.values():
                    a += str(len(self.alias))
                self.alias[k] = a

    def q(self, name: str) -> str:
        return quote_ident(name, self.dialect)

    def table_ref(self, key) -> str:
        name = self.q(key[1])
        ref = f"{self.q(key[0])}.{name}" if self.federated else name
        return f"{ref} AS {self.alias[key]}" if key in self.alias else ref

    def col(self, ref: ColRef) -> str:
        c = self.q(ref.column)
        return f"{self.alias[ref.table]}.{c}" if ref.table in self.alias else c

    # -- pieces ------------------------------------------------------------------------------------
    def period_cond(self, p: Period) -> str:
        c = self.col(p.col)
        parts = []
        if p.integer_year:
            if p.start:
                parts.append(f"{c} >= {p.start.year}")
            if p.end:
                parts.append(f"{c} < {p.end.year + (1 if (p.end.month, p.end.day) != (1, 1) else 0)}")
            if p.start and p.end and p.end.year == p.start.year + 1 and (p.end.month, p.end.day) == (1, 1):
                return f"{c} = {p.start.year}"
        else:
            if p.start:
                parts.append(f"{c} >= {literal(p.start)}")
            if p.end:
                parts.append(f"{c} < {literal(p.end)}")
        return " AND ".join(parts) or "TRUE"

    def measure_expr(self, m: MeasureSpec, when: str | None = None) -> str:
        if m.agg == "count":
            if m.distinct_key is not None:
                target = self.col(m.distinct_key)
                inner = f"CASE WHEN {when} THEN {target} END" if when else target
                return f"COUNT(DISTINCT {inner})"
            return f"COUNT(CASE WHEN {when} THEN 1 END)" if when else "COUNT(*)"
        x = " * ".join(self.col(ColRef(m.table, c)) for c in m.columns)
        if m.raw:
            return x
        if when:
            x = f"CASE WHEN {when} THEN {x} END"
        if m.agg == "count_distinct":
            return f"COUNT(DISTINCT {x})"
        return f"{_AGG[m.agg]}({x})"

    def filter_cond(self, f) -> str:
        c = self.col(f.col)
        if f.op in ("in", "not_in"):
            vals = ", ".join(literal(v) for v in f.values)
            return f"{c} {'IN' if f.op == 'in' else 'NOT IN'} ({vals})"
        if f.op == "between":
            lo, hi = sorted(f.values[:2])
            return f"{c} BETWEEN {literal(lo)} AND {literal(hi)}"
        if f.op == "is_null":
            return f"{c} IS NULL"
        if f.op == "month_of_year":
            return f"{bucket_sql('month_of_year', c, self.dialect)} = {int(f.values[0])}"
        value = f.values[0]
        info = self.catalog.tables[f.col.table].columns[f.col.column]
        if isinstance(value, bool):
            if info.kind == "bool":
                return c if value else f"NOT {c}"
            value = int(value)
        return f"{c} {'<>' if f.op == '!=' else f.op} {literal(value)}"

    def count_filter(self, cf) -> str:
        child_conn = cf.child.table[0]
        child = self.q(cf.child.table[1])
        if self.federated or child_conn != self.spec.base[0]:
            child = f"{self.q(child_conn)}.{child}"
        fk = self.q(cf.child.column)
        n = _num(cf.number)
        if cf.op in ("=", "<=") and n == 0 or cf.op == "<" and n == 1:  # none related: an anti-join
            return f"{self.col(cf.parent)} NOT IN (SELECT {fk} FROM {child} WHERE {fk} IS NOT NULL)"
        if cf.op in ("<", "<="):  # "fewer than 3": rows with none related count too
            keep = ">=" if cf.op == "<" else ">"
            return (f"{self.col(cf.parent)} NOT IN (SELECT {fk} FROM {child} WHERE {fk} IS NOT NULL "
                    f"GROUP BY {fk} HAVING COUNT(*) {keep} {literal(n)})")
        return (f"{self.col(cf.parent)} IN (SELECT {fk} FROM {child} GROUP BY {fk} "
                f"HAVING COUNT(*) {cf.op} {literal(n)})")

    # -- statement -----------------------------------------------------------------------------------
    def sql(self) -> str:
        s = self.spec
        select, group = [], []
        for d in s.dims:
            expr = self.col(d.col)
            if d.bucket:
                expr = bucket_sql(d.bucket, expr, self.dialect)
            select.append(expr if _bare(expr, d.alias) else f"{expr} AS {self.q(d.alias)}")
            group.append(expr)
            group += [self.col(ColRef(d.col.table, k)) for k in d.entity_key]
        raw = any(m.raw for m in s.measures)
        if s.compare:
            cur, base = s.compare
            tc, tb = _tag(cur), _tag(base)
            for m in s.measures:
                a, b = f"{m.alias}_{tc}", f"{m.alias}_{tb}"
                ea, eb = self.measure_expr(m, self.period_cond(cur)), self.measure_expr(m, self.period_cond(base))
                select += [f"{ea} AS {self.q(a)}", f"{eb} AS {self.q(b)}",
                           f"100.0 * ({ea} - {eb}) / NULLIF({eb}, 0) AS {self.q(f'{m.alias}_change_pct')}"]
        elif s.measures:
            for m in s.measures:
                e = self.measure_expr(m)
                select.append(f"{e} AS {self.q(m.alias)}" if not _bare(e, m.alias) else e)
                if s.share:
                    select.append(f"100.0 * {e} / SUM({e}) OVER () AS {self.q(m.alias + '_share_pct')}")
        elif s.projection:
            select += [self.col(c) for c in s.projection]
        else:
            select.append(f"{self.alias[s.base]}.*" if s.base in self.alias else "*")
        where = [self.filter_cond(f) for f in s.filters] if not s.share_of_filter else []
        where += [self.count_filter(cf) for cf in s.count_filters]
        if s.periods:
            conds = [self.period_cond(p) for p in s.periods]
            where.append(conds[0] if len(conds) == 1 else "(" + " OR ".join(f"({c})" for c in conds) + ")")
        if s.compare:
            where.append(f"(({self.period_cond(s.compare[0])}) OR ({self.period_cond(s.compare[1])}))")
        if s.order_col is not None or raw:
            target = s.order_col or ColRef(s.measures[0].table, s.measures[0].columns[0])
            where.append(f"{self.col(target)} IS NOT NULL")
        if s.share_of_filter:
            cond = " AND ".join(self.filter_cond(f) for f in s.filters)
            m = s.measures[0] if s.measures else None
            select = [f"100.0 * COUNT(CASE WHEN {cond} THEN 1 END) / COUNT(*) AS share_pct"] if m is None or m.agg == "count" \
                else [f"100.0 * {self.measure_expr(m, cond)} / NULLIF({self.measure_expr(m)}, 0) AS share_pct"]
        lines = [f"SELECT {', '.join(select)}", f"FROM {self.table_ref(s.base)}"]
        for j in self.joins:
            lines.append(f"JOIN {self.table_ref(j.to_table)} ON "
                         f"{self.col(ColRef(j.from_table, j.from_column))} = {self.col(ColRef(j.to_table, j.to_column))}")
        if where:
            lines.append("WHERE " + " AND ".join(where))
        if group and s.measures and not raw:
            lines.append("GROUP BY " + ", ".join(group))
        order = [f"{self.q(a)} {d}" if not s.projection and s.measures else f"{self.col(s.order_col or ColRef(s.base, a))} {d}"
                 for a, d in s.order]
        if not order and s.dims and any(d.bucket or _is_time(self.catalog, d.col) for d in s.dims):
            order = [f"{i + 1}" for i, d in enumerate(s.dims) if d.bucket or _is_time(self.catalog, d.col)]
        if raw and s.order:
            order = [f"{self.measure_expr(s.measures[0])} {s.order[0][1]}"]
        if order:
            lines.append("ORDER BY " + ", ".join(order))
        if s.limit:
            lines.append(f"LIMIT {int(s.limit)}")
        return "\n".join(lines)


def _bare(expr: str, alias: str) -> bool:
    return expr == alias or expr.endswith("." + alias)


def _is_time(catalog: SchemaCatalog, ref: ColRef) -> bool:
    col = catalog.tables[ref.table].columns[ref.column]
    return col.temporal or col.words[-1:] == ("year",)


def _tag(p: Period) -> str:
    return period_tag(p)


def _num(x: float):
    return int(x) if float(x).is_integer() else x


def render(spec: QuerySpec, catalog: SchemaCatalog) -> Rendered:
    """SQL for ``spec``; federated (DuckDB, ``connection.table``) when it spans connections."""
    w = _Writer(spec, catalog)
    return Rendered(w.sql(), w.dialect, w.connections, w.federated)
