"""Decide what each source computes; rewrite the rest into DuckDB's residual query.

Works on a qualified, type-annotated sqlglot tree in which every source table is a
virtual table (``__t0``) and every table alias is unique in the whole statement, so a
column's qualifier names exactly one table. The walker mutates that tree into the
residual query and records :class:`Pending` fetches:

* a subquery, CTE, set-operation branch or ``EXISTS``/``IN``/scalar subquery whose
  tables all sit in one source and that is not correlated is pushed whole (with the
  CTEs it uses); an ``EXISTS`` subquery gets ``LIMIT 1``;
* each SELECT's FROM clause is planned by :class:`~.joins.JoinPlanning` (same-source
  joins, single-table filters);
* a correlated ``[NOT] EXISTS`` conjunct whose subquery and outer tables all sit in one
  source is held back (:meth:`Walker.hold_exists`) and moves into the fetch of its outer
  tables like a filter, so the source runs the semi/anti join instead of shipping the
  inner table (TPC-H Q21's ``l2``/``l3``); if it cannot move, it is planned as usual;
* filters and subtrees reach a source only when :mod:`.dialects` says it computes
  exactly what DuckDB would; everything else stays in DuckDB's residual query.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from sqlglot import exp

from .catalog import TableRef
from .dialects import NotPushable, correlated, is_char, prepare
from .joins import JoinPlanning, Pending, _from_items
from .predicates import aliases_in, conjuncts

__all__ = ["Pending", "Walker", "aliases_in", "conjuncts"]

RESIDUAL = ""  # pseudo-source: something only DuckDB can evaluate (table function, VALUES...)


# constructs under which duplicate rows change a subquery's answer (so no DISTINCT for it)
PER_ROW = (exp.AggFunc, exp.Window, exp.Group, exp.Having, exp.Limit, exp.Offset, exp.Qualify, exp.Distinct)


def in_semi_join(query: exp.Expression | None) -> bool:
    """Whether ``query`` is the subquery of ``EXISTS (...)`` or ``x IN (SELECT ...)``."""
    if query is None:
        return False
    parent = query.parent.parent if isinstance(query.parent, exp.Subquery) else query.parent
    return isinstance(parent, exp.Exists) or (isinstance(parent, exp.In) and parent.args.get("query") is not None)


class Walker(JoinPlanning):
    """Plans pushdown over one qualified tree (see module docstring).

    Parameters
    ----------
    refs
        Virtual table name to resolved table.
    alias_virtual
        Alias of every source-table occurrence to its virtual name.
    dialect_of
        Connection name to sqlglot dialect.
    level
        ``"full"``, ``"tables"`` (no join/subtree pushdown) or ``"bare"`` (projections only).
    render_query
        Callback turning a pushed subtree into ``(source SQL, DuckDB SQL)``.
    ctes
        Original (unmodified) CTE bodies by name; ``None`` disables CTE-aware pushdown.
    reserved
        Names already used in the statement (aliases, CTE names), not to be reused.
    """

    def __init__(
        self,
        *,
        refs: dict[str, TableRef],
        alias_virtual: dict[str, str],
        dialect_of: dict[str, str],
        level: str,
        render_query: Callable[[exp.Expression, str], tuple[str, str]],
        ctes: dict[str, exp.Expression] | None,
        reserved: set[str] | None = None,
    ) -> None:
        self.refs = refs
        self.alias_virtual = alias_virtual
        self.dialect_of = dialect_of
        self.level = level
        self.render_query = render_query
        self.ctes = ctes
        self.reserved = set(reserved or ())
        self.pending: list[Pending] = []
        self.filters: dict[str, list[exp.Expression]] = {}
        self.notes: list[str] = []
        self.group_members: dict[str, set[str]] = {}
        self._counter = itertools.count()
        self._cte_sources: dict[str, set[str]] = {}
        self.held: dict[int, set[str]] = {}  # id of a held EXISTS conjunct -> its outer aliases

    # -- helpers ------------------------------------------------------------------------
    def source_of(self, alias: str) -> str:
        return self.refs[self.alias_virtual[alias]].source

    def temp_name(self, source: str, label: str) -> str:
        slug = "".join(ch if ch.isalnum() else "_" for ch in f"{source}_{label}".lower())
        return f"__f{next(self._counter)}_{slug[:48]}"

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def prepared_filter(self, node: exp.Expression, source: str) -> exp.Expression | None:
        """A copy of ``node`` fit for ``source``'s WHERE, or None."""
        try:
            # a held EXISTS is a whole subquery: checked like a pushed subtree, not a plain filter
            return prepare(node, self.dialect_of[source], filter_only=id(node) not in self.held)
        except NotPushable as why:
            self.note(f"kept in DuckDB: {node.sql('duckdb')} ({why})")
            return None

    def sources_in(self, node: exp.Expression, visiting: frozenset[str] = frozenset()) -> set[str]:
        """Sources whose tables ``node`` reads, ``RESIDUAL`` for anything only DuckDB has."""
        found: set[str] = set()
        local = {c.alias_or_name for c in node.find_all(exp.CTE)}
        for table in node.find_all(exp.Table):
            name = table.name
            if name in self.refs and not table.args.get("db"):
                found.add(self.refs[name].source)
            elif name in local and not table.args.get("db"):
                continue
            elif self.ctes is not None and name in self.ctes and name not in visiting:
                if name not in self._cte_sources:
                    self._cte_sources[name] = self.sources_in(self.ctes[name], visiting | {name})
                found |= self._cte_sources[name]
            else:
                found.add(RESIDUAL)
        if any(node.find_all(exp.Values, exp.Unnest, exp.Lateral)):
            found.add(RESIDUAL)
        return found

    correlated = staticmethod(correlated)

    def _cte_deps(self, node: exp.Expression) -> list[tuple[str, exp.Expression]]:
        """Outer CTEs ``node`` needs, dependencies first."""
        assert self.ctes is not None
        local = {c.alias_or_name for c in node.find_all(exp.CTE)}
        order: list[str] = []

        def visit(n: exp.Expression, skip: set[str]) -> None:
            for table in n.find_all(exp.Table):
                name = table.name
                if name in self.ctes and name not in skip and name not in order:
                    visit(self.ctes[name], skip)
                    if name not in order:
                        order.append(name)

        visit(node, local)
        return [(name, self.ctes[name]) for name in order]

    # -- subtrees -----------------------------------------------------------------------
    def try_push_subtree(self, query: exp.Expression, container: str) -> bool:
        """Push ``query`` whole to its single source; replace it with a fetch reference."""
        if self.level != "full":
            return False
        sources = self.sources_in(query)
        if len(sources) != 1 or RESIDUAL in sources or self.correlated(query):
            return False
        if container != "cte" and not any(t.name in self.refs for t in query.find_all(exp.Table)):
            # reads only CTEs of the statement: DuckDB has their fetched rows already; pushing
            # would make the source compute the CTE a second time
            return False
        source = next(iter(sources))
        head = query
        while isinstance(head, (exp.SetOperation, exp.Subquery)):
            head = head.left if isinstance(head, exp.SetOperation) else head.this
        if not isinstance(head, exp.Select):
            return False
        names = [p.alias_or_name for p in head.expressions]
        if any(not n or n == "*" for n in names) or len({n.lower() for n in names}) != len(names):
            return False
        pushed = query.copy()
        if self.ctes is not None:
            deps = self._cte_deps(query)
            if deps:
                with_ = pushed.args.get("with_")
                existing = list(with_.expressions) if with_ else []
                new = [exp.CTE(this=body.copy(), alias=exp.TableAlias(this=exp.to_identifier(n)))
                       for n, body in deps]
                pushed.set("with_", exp.With(expressions=new + existing))
        if container == "exists" and isinstance(pushed, exp.Select) and not pushed.args.get("limit"):
            pushed = pushed.limit(1, copy=False)
        elif container == "expr" and in_semi_join(query) and isinstance(pushed, exp.Select) \
                and not any(pushed.find(kind) for kind in PER_ROW):
            pushed = pushed.distinct(copy=False)  # IN (SELECT k ...) needs each value once
        try:
            sql, duck_sql = self.render_query(pushed, source)
        except NotPushable as why:
            self.note(f"subquery not pushed to {source}: {why}")
            return False
        name = self.temp_name(source, "query")
        tables = sorted({self.refs[t.name].qualified for t in pushed.find_all(exp.Table) if t.name in self.refs})
        chars = [p.alias_or_name for p in head.expressions if is_char(p)]
        self.pending.append(Pending("query", source, name, sql=sql, duck_sql=duck_sql, columns=names,
                                    tables=tables, char_columns=chars))
        ref = exp.select("*").from_(exp.to_table(name))
        if container == "derived":
            parent = query.parent
            assert isinstance(parent, exp.Subquery)
            parent.replace(exp.Table(this=exp.to_identifier(name), alias=parent.args["alias"].copy()))
        else:  # cte body, expression subquery, EXISTS, set-operation branch
            query.replace(ref)
        return True

    # -- queries ------------------------------------------------------------------------
    def plan_query(self, query: exp.Expression) -> None:
        """Plan a Select / set operation / parenthesized query and its CTEs."""
        if isinstance(query, exp.Subquery):
            self.plan_query(query.this)
            return
        with_ = query.args.get("with_")
        if isinstance(query, exp.SetOperation):
            for branch in (query.left, query.right):
                if not self.try_push_subtree(branch, "branch"):
                    self.plan_query(branch)
        elif isinstance(query, exp.Select):
            self.plan_select(query)
        if with_ is not None:
            self._plan_ctes(query, with_)

    @staticmethod
    def _cte_refs(node: exp.Expression, with_: exp.With, *, outside: bool = True) -> set[str]:
        """Names of ``with_``'s CTEs that ``node`` reads (``outside``: ignore reads inside ``with_``)."""
        names = {c.alias_or_name for c in with_.expressions}
        return {
            t.name
            for t in node.find_all(exp.Table)
            if t.name in names and (not outside or t.find_ancestor(exp.With) is not with_)
        }

    def _plan_ctes(self, query: exp.Expression, with_: exp.With) -> None:
        recursive = bool(with_.args.get("recursive"))
        needed = self._cte_refs(query, with_)
        for cte in reversed(list(with_.expressions)):
            name = cte.alias_or_name
            if name not in needed:
                cte.pop()
                continue
            if recursive or self.ctes is None or not self.try_push_subtree(cte.this, "cte"):
                self.plan_query(cte.this)
            needed |= self._cte_refs(cte.this, with_, outside=False)
        if not with_.expressions:
            query.set("with_", None)

    def _child_queries(self, select: exp.Select) -> list[tuple[exp.Expression, str]]:
        found: list[tuple[exp.Expression, str]] = []

        def visit(node: exp.Expression) -> None:
            for child in node.iter_expressions():
                if isinstance(child, (exp.Select, exp.SetOperation)):
                    parent = child.parent
                    if isinstance(parent, exp.Subquery) and isinstance(parent.parent, (exp.From, exp.Join)):
                        found.append((child, "derived"))
                    elif isinstance(parent, exp.Lateral):
                        found.append((child, "lateral"))
                    elif isinstance(parent, exp.Exists):
                        found.append((child, "exists"))
                    else:
                        found.append((child, "expr"))
                else:
                    visit(child)

        for key, value in select.args.items():
            if key == "with_":
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, (exp.Select, exp.SetOperation)):
                    found.append((child, "expr"))
                elif isinstance(child, exp.Expression):
                    visit(child)
        return found

    def hold_exists(self, select: exp.Select) -> list[exp.Expression]:
        """WHERE conjuncts ``[NOT] EXISTS (...)`` that may move into a fetch of this SELECT.

        Held when the subquery reads only tables of one source (no CTEs, nothing only
        DuckDB has), is correlated, and every outer column it uses belongs to a table of
        that same source listed directly in this SELECT's FROM.
        """
        physical = {a: self.source_of(a) for a in map(self._physical, _from_items(select)[0]) if a}
        held = []
        for cond in conjuncts(select.args.get("where")):
            node = cond.this if isinstance(cond, exp.Not) else cond
            if not isinstance(node, exp.Exists) or not isinstance(node.this, exp.Query):
                continue
            sub = node.this
            tables = list(sub.find_all(exp.Table))
            if not tables or any(t.name not in self.refs or t.args.get("db") for t in tables):
                continue
            sources = {self.refs[t.name].source for t in tables}
            defined = {a.name for a in sub.find_all(exp.TableAlias)}
            outer = {c.table for c in sub.find_all(exp.Column) if c.table and c.table not in defined}
            if len(sources) != 1 or not outer or not outer <= physical.keys() \
                    or {physical[a] for a in outer} != sources:
                continue
            self.held[id(cond)] = outer
            held.append(cond)
        return held

    def plan_select(self, select: exp.Select) -> None:
        """Plan one SELECT: its subqueries, then joins and filters of its FROM clause."""
        held = self.hold_exists(select) if self.level == "full" else []
        for child, container in self._child_queries(select):
            if any(child.find_ancestor(exp.Exists) is (c.this if isinstance(c, exp.Not) else c) for c in held):
                continue  # decided after the FROM clause
            if container == "lateral" or not self.try_push_subtree(child, container):
                self.plan_query(child)
        if self.level != "bare":
            self.plan_from(select)
        for cond in held:  # still in this SELECT's WHERE: it did not move, so plan it as usual
            self.held.pop(id(cond), None)
            if any(c is cond for c in conjuncts(select.args.get("where"))):
                node = cond.this if isinstance(cond, exp.Not) else cond
                self.plan_query(node.this)

