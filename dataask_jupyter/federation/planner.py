"""Plan a federated statement: resolve tables, decide pushdown, emit per-source SQL.

Steps of :meth:`Planner.plan`:

1. The read-only guard checks the statement (nothing is fetched before this).
2. sqlglot parses it (DuckDB dialect); every ``connection[.schema].table`` becomes a
   virtual table ``__tN`` whose schema comes from the source.
3. An empty-table DuckDB (:mod:`.oracle`) binds the statement: DuckDB's own output
   names and types, and binder errors before any data moves.
4. sqlglot qualifies columns, prunes unused projections and annotates types.
5. :class:`~.pushdown.Walker` decides what each source computes (the whole statement
   when all tables sit in one source); the rest becomes DuckDB's residual SQL.
6. Every generated statement is re-validated by the guard in its own dialect.

When sqlglot cannot qualify a statement DuckDB accepts, the planner falls back to
fetching whole tables and letting DuckDB do everything (correct, just slower).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from ..errors import UsageError
from .catalog import Catalog, TableRef
from .dialects import NotPushable, duckdb_type, is_char
from .fetches import finish_fetches, render_query, whole_table_fetches
from .model import FederationPlan
from .oracle import OraclePool
from .pushdown import Pending, Walker
from .sources import FederationSource

__all__ = ["LEVELS", "Planner"]

LEVELS = ("full", "tables", "bare")
Guard = Callable[[str, str], object]


def _default_guard(sql: str, dialect: str) -> object:
    from ..safety import ensure_read_only  # imported late: written alongside this package

    return ensure_read_only(sql, dialect)


def _parse(sql: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as err:
        raise UsageError(f"Could not parse the statement: {str(err).splitlines()[0]}") from None
    if len(statements) != 1:
        raise UsageError("Federated queries run exactly one statement.")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise UsageError("Only SELECT queries can be federated.")
    return statement


def _trim_exists(tree: exp.Expression) -> None:
    """``EXISTS (SELECT * ...)`` -> ``EXISTS (SELECT 1 ...)``: only the rows matter, not the columns.

    Without this every column of the subquery's tables would be fetched.
    """
    for node in tree.find_all(exp.Exists):
        sub = node.this
        if isinstance(sub, exp.Select) and not sub.args.get("group") and not sub.args.get("distinct") \
                and any(isinstance(p, exp.Star) for p in sub.expressions):
            sub.set("expressions", [exp.alias_(exp.Literal.number(1), "__one")])


def _head(query: exp.Expression) -> exp.Expression:
    while isinstance(query, (exp.SetOperation, exp.Subquery)):
        query = query.left if isinstance(query, exp.SetOperation) else query.this
    return query


def _output_names(query: exp.Expression) -> list[str]:
    head = _head(query)
    return [p.alias_or_name for p in head.expressions] if isinstance(head, exp.Select) else []


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


class Planner:
    """Turns SQL over several connections into a :class:`FederationPlan`.

    Parameters
    ----------
    guard
        ``guard(sql, dialect)`` raising :class:`~dataask_jupyter.errors.UnsafeSQL`;
        defaults to :func:`dataask_jupyter.safety.assert_read_only`.
    """

    def __init__(self, *, guard: Guard | None = None) -> None:
        self._guard = guard or _default_guard
        self._oracles = OraclePool()

    def guard(self, sql: str, dialect: str) -> None:
        """Check SQL the engine builds at run time with the same read-only guard."""
        self._guard(sql, dialect)

    # ------------------------------------------------------------------ entry point
    def plan(
        self, sql: str, sources: Mapping[str, FederationSource], *, pushdown: str = "full"
    ) -> FederationPlan:
        """Plan ``sql`` over ``sources``.

        Parameters
        ----------
        sql
            One SELECT in DuckDB's dialect naming tables ``connection.table`` or
            ``connection.schema.table`` (or a bare name found in exactly one connection).
        sources
            Connection name to source.
        pushdown
            ``"full"`` (default), ``"tables"`` (per-table projections and filters only) or
            ``"bare"`` (projections only).

        Raises
        ------
        UnsafeSQL, UsageError, ConnectionNotFound, TableNotFound, SourceError
        """
        if pushdown not in LEVELS:
            raise UsageError(f"pushdown must be one of {', '.join(LEVELS)}, not {pushdown!r}.")
        self._guard(sql, "duckdb")
        tree = _parse(sql)
        catalog = Catalog(sources)
        plan = self._plan_tree(sql, tree.copy(), catalog, sources, pushdown)
        if plan is None:  # the binder missed a column: maybe a cached schema is stale, so ask again once
            plan = self._plan_tree(sql, tree, catalog, sources, pushdown, refresh=True)
        return plan

    def _plan_tree(self, sql, tree, catalog, sources, pushdown, *, refresh: bool = False) -> FederationPlan | None:
        """Plan the parsed ``tree``; ``None`` when binding failed and a schema refresh may help."""
        if refresh:
            for name in list(catalog.sources):
                catalog.refresh(name)
        original = tree.copy()
        _trim_exists(tree)
        written: dict[tuple[str, ...], str] = {}
        refs = self._virtualize(tree, catalog, written)
        dialect_of = {ref.source: self._dialect(ref.source, sources[ref.source]) for ref in refs.values()}
        duck_cols = {
            v: [(c, duckdb_type(t, dialect_of[ref.source])) for c, t in ref.columns] for v, ref in refs.items()
        }
        with self._oracles.oracle(duck_cols, written) as oracle:
            described: list[tuple[str, str]] | None = None
            bind_error: duckdb.Error | None = None
            for text in (sql, tree.sql("duckdb")):
                try:
                    described, bind_error = oracle.describe(text), None
                    break
                except duckdb.Error as err:
                    bind_error = bind_error or err
            try:
                qualified = self._qualify(tree.copy(), duck_cols)
            except (SqlglotError, KeyError, ValueError, TypeError) as err:
                if bind_error is not None:
                    if not refresh and any(hasattr(sources[r.source], "refresh") for r in refs.values()):
                        return None
                    raise UsageError(self._clean(bind_error, refs)) from None
                notes = [f"sqlglot could not analyse the statement ({err}); whole tables fetched"]
                return self._bare_plan(sql, tree, refs, dialect_of, described, original, notes)
            return self._plan(sql, qualified, refs, dialect_of, pushdown, oracle, described, original)

    # ------------------------------------------------------------------ preparation
    @staticmethod
    def _dialect(name: str, source: FederationSource) -> str:
        dialect = str(getattr(source, "dialect", "") or "")
        try:
            Dialect.get_or_raise(dialect)
        except (ValueError, SqlglotError):
            raise UsageError(f"Connection '{name}' has an unknown SQL dialect {dialect!r}.") from None
        return dialect

    @staticmethod
    def _virtualize(tree: exp.Expression, catalog: Catalog, written: dict[tuple[str, ...], str]) -> dict[str, TableRef]:
        """Replace source tables by ``__tN`` (alias kept); return the refs by virtual name.

        ``written`` receives each dotted name as written -> its virtual name.
        """
        cte_names = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        refs: dict[str, TableRef] = {}
        by_key: dict[tuple[str, str], str] = {}
        for table in list(tree.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier):
                continue  # table function: DuckDB evaluates it
            parts = [p.name for p in (table.args.get("catalog"), table.args.get("db"), table.this) if p]
            if len(parts) == 1 and parts[0].lower() in cte_names:
                table.meta["fed_alias"] = table.alias_or_name
                continue
            ref = catalog.resolve(parts)
            virtual = by_key.setdefault((ref.source, ref.table), f"__t{len(by_key)}")
            refs[virtual] = ref
            written[tuple(parts)] = virtual
            alias = table.alias or parts[-1]
            table.set("catalog", None)
            table.set("db", None)
            table.set("this", exp.to_identifier(virtual))
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
            table.meta["fed_alias"] = alias
        connections = {s.lower() for s in catalog.sources}
        for column in tree.find_all(exp.Column):  # shop.orders.id -> orders.id
            db = column.args.get("db")
            if db is not None and db.name.lower() in connections:
                column.set("db", None)
                column.set("catalog", None)
        for sub in tree.find_all(exp.Subquery):
            if sub.alias:
                sub.meta["fed_alias"] = sub.alias
        return refs

    @staticmethod
    def _qualify(tree: exp.Expression, duck_cols: dict[str, list[tuple[str, str]]]) -> exp.Expression:
        mapping: dict[str, dict[str, str]] = {}
        for virtual, cols in duck_cols.items():
            seen: dict[str, str] = {}
            for name, dtype in cols:
                if name.lower() not in {k.lower() for k in seen}:
                    seen[name] = dtype
            mapping[virtual] = seen
        schema = MappingSchema(mapping, dialect="duckdb")
        query = qualify(tree, schema=schema, dialect="duckdb", canonicalize_table_aliases=True)
        query = pushdown_projections(query)
        try:
            annotate_types(query, schema=schema, dialect="duckdb")
        except (SqlglotError, KeyError, ValueError, TypeError, AttributeError):
            pass  # untyped nodes are simply not pushed to non-DuckDB sources
        Planner._restore_aliases(query)
        return query

    @staticmethod
    def _restore_aliases(query: exp.Expression) -> None:
        """Give tables back the user's aliases (qualify numbered them ``_0``, ``_1``...)."""
        nodes = [n for n in query.walk() if isinstance(n, (exp.Table, exp.Subquery)) and n.alias]
        ctes = {c.alias_or_name.lower() for c in query.find_all(exp.CTE)}
        used = {n.alias.lower() for n in nodes if "fed_alias" not in n.meta}
        mapping: dict[str, str] = {}
        for node in nodes:
            if "fed_alias" not in node.meta or node.alias in mapping:
                continue
            want = str(node.meta["fed_alias"]).lower() or "t"
            own_cte = want if isinstance(node, exp.Table) and node.name.lower() == want else None
            candidate, n = want, 2
            while candidate in used or candidate.startswith("__") or (candidate in ctes and candidate != own_cte):
                candidate, n = f"{want}_{n}", n + 1
            used.add(candidate)
            mapping[node.alias] = candidate
        for alias in query.find_all(exp.TableAlias):
            if alias.name in mapping:
                alias.set("this", _quoted(mapping[alias.name]))
        for column in query.find_all(exp.Column):
            if column.table in mapping:
                column.set("table", _quoted(mapping[column.table]))

    # ------------------------------------------------------------------ planning
    def _plan(self, sql, query, refs, dialect_of, level, oracle, described, original) -> FederationPlan:
        alias_virtual = {t.alias: t.name for t in query.find_all(exp.Table) if t.name in refs}
        cte_list = list(query.find_all(exp.CTE))
        ctes = {c.alias_or_name: c.this.copy() for c in cte_list}
        reserved = {a.name for a in query.find_all(exp.TableAlias)} | set(ctes)
        walker = Walker(
            refs=refs,
            alias_virtual=alias_virtual,
            dialect_of=dialect_of,
            level=level,
            render_query=lambda node, source: render_query(node, dialect_of[source], refs, alias_virtual),
            ctes=ctes if len(ctes) == len(cte_list) else None,
            reserved=reserved,
        )
        out_names = _output_names(query)
        used = {ref.source for ref in refs.values()}
        passthrough, char_positions = False, []
        if level == "full" and len(used) == 1 and walker.sources_in(query) == used:
            source = next(iter(used))
            try:
                source_sql, _ = render_query(query, dialect_of[source], refs, alias_virtual)
            except NotPushable as why:
                walker.note(f"statement not pushed whole to {source}: {why}")
            else:
                name = walker.temp_name(source, "query")
                tables = sorted({r.qualified for r in refs.values()})
                head = _head(query)
                char_positions = [i for i, p in enumerate(getattr(head, "expressions", [])) if is_char(p)]
                walker.pending.append(Pending("query", source, name, sql=source_sql, columns=out_names,
                                              tables=tables))
                query = exp.select("*").from_(exp.to_table(name))
                passthrough = True
        if not passthrough:
            walker.plan_query(query)
        fetches = finish_fetches(query, walker, refs, alias_virtual, dialect_of, oracle, self._guard)
        residual = query.sql("duckdb")
        self._guard(residual, "duckdb")
        names, types = self._names(described, original, out_names)
        if passthrough and len(types) == len(names):
            types = ["CHAR" if i in char_positions else t for i, t in enumerate(types)]
        return FederationPlan(
            sql=sql, fetches=tuple(fetches), residual_sql=residual, output_columns=tuple(names),
            passthrough=passthrough, pushdown=level, notes=tuple(walker.notes), output_types=tuple(types),
        )

    # ------------------------------------------------------------------ fallbacks & names
    def _bare_plan(self, sql, tree, refs, dialect_of, described, original, notes) -> FederationPlan:
        fetches = whole_table_fetches(tree, refs, dialect_of, self._guard)
        residual = tree.sql("duckdb")
        self._guard(residual, "duckdb")
        names, types_out = self._names(described, original, None)
        return FederationPlan(sql=sql, fetches=tuple(fetches), residual_sql=residual,
                              output_columns=tuple(names), pushdown="bare", notes=tuple(notes),
                              output_types=tuple(types_out))

    @staticmethod
    def _names(described, original, fallback: list[str] | None) -> tuple[list[str], list[str]]:
        """DuckDB's names and types for the statement, else names read off the SQL text."""
        expected = None if fallback is None else len(fallback)
        if described is not None and (expected is None or len(described) == expected):
            return [n for n, _ in described], [t for _, t in described]
        head = _head(original)
        if isinstance(head, exp.Select) and len(head.expressions) == expected and not any(
            p.find(exp.Star) for p in head.expressions
        ):
            return [
                p.alias_or_name if isinstance(p, (exp.Alias, exp.Column)) else p.sql("duckdb")
                for p in head.expressions
            ], []
        return list(fallback or []), []

    @staticmethod
    def _clean(err: Exception, refs: dict[str, TableRef]) -> str:
        text = str(err).split("\nLINE ")[0].strip()
        text = re.sub(r'"?\b(__t\d+)\b"?', lambda m: refs[m.group(1)].qualified if m.group(1) in refs
                      else m.group(0), text)
        return text

