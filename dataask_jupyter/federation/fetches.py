"""Build the SQL each source runs and the fetch list; rewrite the residual to temp tables."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
from sqlglot import exp

from .catalog import TableRef
from .dialects import duckdb_type, prepare, render
from .model import SourceFetch
from .oracle import SchemaOracle
from .pushdown import PER_ROW, Pending, Walker, in_semi_join

__all__ = ["finish_fetches", "render_query", "to_source", "whole_table_fetches"]

Guard = Callable[[str, str], object]


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def to_source(node: exp.Expression, refs: dict[str, TableRef], alias_virtual: dict[str, str]) -> None:
    """Rename virtual tables and normalized column names (in place) to the source's real names."""
    for table in node.find_all(exp.Table):
        ref = refs.get(table.name)
        if ref is not None and not table.args.get("db"):
            schema, name = ref.parts
            table.set("this", _quoted(name))
            table.set("db", _quoted(schema) if schema else None)
    for column in node.find_all(exp.Column):
        virtual = alias_virtual.get(column.table)
        if virtual is not None:
            actual = {c.lower(): c for c, _ in reversed(refs[virtual].columns)}
            column.set("this", _quoted(actual.get(column.name.lower(), column.name)))


def render_query(node: exp.Expression, dialect: str, refs: dict[str, TableRef],
                 alias_virtual: dict[str, str]) -> tuple[str, str]:
    """``(source SQL, DuckDB SQL over virtual tables)`` for a pushed subtree; may raise NotPushable."""
    fixed = prepare(node, dialect)
    duck_sql = node.sql("duckdb")
    to_source(fixed, refs, alias_virtual)
    return render(fixed, dialect), duck_sql


def finish_fetches(query: exp.Expression, walker: Walker, refs: dict[str, TableRef],
                   alias_virtual: dict[str, str], dialect_of: dict[str, str], oracle: SchemaOracle,
                   guard: Guard) -> list[SourceFetch]:
    """Turn remaining source tables into fetches, prune columns, render SQL, rewrite residual.

    Several aliases of one table with the same filters (a self-join, a correlated subquery
    over the outer table: TPC-H Q17) share one fetch with the union of their columns.
    """
    same: dict[tuple[str, str], Pending] = {}
    for table in list(query.find_all(exp.Table)):
        if table.name in refs and table.alias in alias_virtual:
            ref = refs[table.name]
            filters = walker.filters.get(table.alias, [])
            key = (table.name, _filter_key(filters, table.alias))
            if key in same:
                same[key].shared.append(table.alias)
                table.set("this", exp.to_identifier(same[key].name))
                continue
            name = walker.temp_name(ref.source, ref.table.rpartition(".")[2])
            same[key] = Pending("table", ref.source, name, alias=table.alias, members=[(table.alias, "", [])],
                                filters=filters)
            walker.pending.append(same[key])
            table.set("this", exp.to_identifier(name))
    owner: dict[str, Pending] = {a: p for p in walker.pending for a in [*(m[0] for m in p.members), *p.shared]}
    needed: dict[str, set[str]] = {}
    for column in query.find_all(exp.Column):
        if column.table in owner:
            needed.setdefault(column.table, set()).add(column.name.lower())
    fetches: list[SourceFetch] = []
    for p in walker.pending:
        dialect = dialect_of[p.source]
        types: dict[str, str] = {}
        tables: list[str] = []
        if p.kind == "query":
            tables = p.tables
            if p.duck_sql:
                try:
                    types = dict(zip(p.columns, (t for _, t in oracle.describe(p.duck_sql)), strict=False))
                except duckdb.Error:
                    types = {}
            types.update({c: "CHAR" for c in p.char_columns})
        else:
            distinct = _semi_only(query, [*(m[0] for m in p.members), *p.shared])
            p.sql, p.columns, types, tables = _member_sql(p, refs, alias_virtual, needed, dialect, distinct)
        guard(p.sql, dialect)
        fetches.append(SourceFetch(source=p.source, sql=p.sql, name=p.name, columns=tuple(p.columns),
                                   dialect=dialect, kind=p.kind, tables=tuple(tables), column_types=types))
    for column in query.find_all(exp.Column):  # columns of join groups live in one temp table
        p = owner.get(column.table)
        if p is not None and p.kind == "join":
            column.set("this", _quoted(f"{column.table}__{column.name.lower()}"))
            column.set("table", _quoted(p.alias))
    return fetches


def _filter_key(filters: list[exp.Expression], alias: str) -> str:
    """The filters as text with the table's alias left out, to compare two aliases' fetches."""
    parts = []
    for cond in filters:
        copy = cond.copy()
        for column in copy.find_all(exp.Column):
            if column.table == alias:
                column.set("table", exp.to_identifier("__self"))
        parts.append(copy.sql("duckdb"))
    return " AND ".join(sorted(parts))


def _semi_only(query: exp.Expression, aliases: list[str]) -> bool:
    """Whether every alias is read only by ``EXISTS (...)`` / ``IN (SELECT ...)`` subqueries that
    look at rows one by one: then duplicate rows change nothing and the fetch can be DISTINCT
    (TPC-H Q22's ``NOT EXISTS`` over orders needs each customer key once, not 15 times)."""
    found = 0
    for table in query.find_all(exp.Table):
        if table.alias not in aliases:
            continue
        found += 1
        select = table.find_ancestor(exp.Select)
        if not in_semi_join(select) or any(select.find(kind) for kind in PER_ROW) or select.args.get("joins"):
            return False
        if any(sub is not select for sub in select.find_all(exp.Select)):
            return False
    return found > 0


def _member_sql(p: Pending, refs, alias_virtual, needed, dialect, distinct: bool = False):
    """SQL for a one-table or same-source-join fetch with only the needed columns."""
    projections: list[exp.Expression] = []
    columns: list[str] = []
    types: dict[str, str] = {}
    tables: list[str] = []
    for alias, _, _ in p.members:
        ref = refs[alias_virtual[alias]]
        tables.append(ref.qualified)
        want = set().union(needed.get(alias, set()), *(needed.get(a, set()) for a in p.shared))
        seen: set[str] = set()
        for col, source_type in ref.columns:
            low = col.lower()
            if low not in want or low in seen:
                continue
            seen.add(low)
            out = low if p.kind == "table" else f"{alias}__{low}"
            projections.append(exp.alias_(exp.column(low, table=alias, quoted=True), out, quoted=True))
            columns.append(out)
            types[out] = duckdb_type(source_type, dialect)
    if not projections:  # e.g. count(*): rows matter, columns don't
        projections, columns = [exp.alias_(exp.Literal.number(1), "__one", quoted=True)], ["__one"]

    def table(alias: str) -> exp.Table:
        return exp.Table(this=exp.to_identifier(alias_virtual[alias]), alias=exp.TableAlias(this=_quoted(alias)))

    select = exp.select(*projections).from_(table(p.members[0][0]))
    for alias, side, on in p.members[1:]:
        select = select.join(exp.Join(this=table(alias), on=exp.and_(*on) if on else exp.true(),
                                      side=side or None))
    if p.filters:
        select = select.where(exp.and_(*p.filters))
    if distinct:
        select = select.distinct()
    to_source(select, refs, alias_virtual)
    return render(select, dialect), columns, types, tables


def whole_table_fetches(tree: exp.Expression, refs: dict[str, TableRef], dialect_of: dict[str, str],
                        guard: Guard) -> list[SourceFetch]:
    """Fallback: fetch every referenced table whole and point ``tree`` at the temp tables."""
    fetches = []
    for n, (virtual, ref) in enumerate(refs.items()):
        dialect = dialect_of[ref.source]
        slug = "".join(ch if ch.isalnum() else "_" for ch in f"{ref.source}_{ref.table}".lower())
        name = f"__f{n}_{slug[:48]}"
        cols = [c for c, _ in ref.columns]
        schema, table_name = ref.parts
        select = exp.select(*[exp.alias_(exp.column(c, quoted=True), c.lower(), quoted=True) for c in cols])
        select = select.from_(exp.Table(this=_quoted(table_name), db=_quoted(schema) if schema else None))
        source_sql = render(select, dialect)
        guard(source_sql, dialect)
        types = {c.lower(): duckdb_type(t, dialect) for c, t in ref.columns}
        fetches.append(SourceFetch(ref.source, source_sql, name, tuple(c.lower() for c in cols), dialect,
                                   "table", (ref.qualified,), types))
        for table in tree.find_all(exp.Table):
            if table.name == virtual and not table.args.get("db"):
                table.set("this", exp.to_identifier(name))
    return fetches
