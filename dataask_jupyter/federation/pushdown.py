"""Decide what each source computes; rewrite the rest into DuckDB's residual query.

Works on a qualified, type-annotated sqlglot tree in which every source table is a
virtual table (``__t0``) and every table alias is unique in the whole statement, so a
column's qualifier names exactly one table. The walker mutates that tree into the
residual query and records :class:`Pending` fetches:

* a subquery, CTE, set-operation branch or ``EXISTS``/``IN``/scalar subquery whose
  tables all sit in one source and that is not correlated is pushed whole;
* inner-joined tables of one source that are linked by join predicates are joined at
  the source; with outer joins, only a leading run of same-source tables is;
* WHERE/ON conjuncts that touch a single table are pushed into its fetch when that is
  safe: never into the null-extended side of an outer join (a null-rejecting WHERE
  conjunct is copied there and also kept), never left-side conjuncts of a LEFT JOIN's
  ON, never across RIGHT/FULL joins, never conjuncts with subqueries, aggregates or
  windows, and only when :mod:`.dialects` says the source computes the same thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from .catalog import TableRef
from .dialects import COMPARISONS, NotPushable, is_char, prepare

__all__ = ["Pending", "Walker", "aliases_in", "conjuncts"]

RESIDUAL = ""  # pseudo-source: something only DuckDB can evaluate (table function, VALUES...)


@dataclass
class Pending:
    """A fetch being planned (turned into a :class:`SourceFetch` at the end)."""

    kind: str  # "table" | "join" | "query"
    source: str
    name: str
    alias: str = ""
    # table/join: (alias, side, on-conditions) in join order; the first has no side/on
    members: list[tuple[str, str, list[exp.Expression]]] = field(default_factory=list)
    filters: list[exp.Expression] = field(default_factory=list)
    sql: str = ""
    duck_sql: str = ""
    columns: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    char_columns: list[str] = field(default_factory=list)


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """Split an AND tree (parentheses included) into its conjuncts."""
    if node is None:
        return []
    if isinstance(node, exp.Where):
        node = node.this
    while isinstance(node, exp.Paren) and isinstance(node.this, exp.And):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def aliases_in(node: exp.Expression) -> set[str]:
    """Table qualifiers of all columns under ``node``."""
    return {c.table for c in node.find_all(exp.Column) if c.table}


def _and(parts: list[exp.Expression]) -> exp.Expression | None:
    return exp.and_(*parts, copy=False) if parts else None


def _null_rejecting(node: exp.Expression) -> bool:
    if not isinstance(node, (*COMPARISONS, exp.Between, exp.In, exp.Like, exp.ILike)):
        return False
    safe = (exp.Column, exp.Identifier, exp.Literal, exp.Cast, exp.DataType, exp.Neg, exp.Add,
            exp.Sub, exp.Mul, exp.Paren, exp.Boolean, exp.DataTypeParam)
    return all(isinstance(n, safe) for n in node.walk() if n is not node)


def _simple_join(join: exp.Join) -> bool:
    item = join.this
    return (
        not join.args.get("method")
        and (join.args.get("kind") or "").upper() in ("", "INNER", "OUTER", "CROSS")
        and (join.args.get("side") or "").upper() in ("", "LEFT", "RIGHT", "FULL")
        and not join.args.get("using")
        and isinstance(item, (exp.Table, exp.Subquery))
        and not item.args.get("joins")
    )


def _from_items(select: exp.Select) -> tuple[list[exp.Expression], list[exp.Join]]:
    frm = select.args.get("from_") or select.args.get("from")
    if frm is None:
        return [], []
    joins = list(select.args.get("joins") or [])
    return [frm.this, *(j.this for j in joins)], joins


def _side(join: exp.Join) -> str:
    return (join.args.get("side") or "").upper()


class Walker:
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
            return prepare(node, self.dialect_of[source], filter_only=True)
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

    @staticmethod
    def correlated(node: exp.Expression) -> bool:
        """Whether ``node`` references a table alias defined outside it."""
        defined = {a.name for a in node.find_all(exp.TableAlias)}
        defined |= {c.alias_or_name for c in node.find_all(exp.CTE)}
        return any(c.table and c.table not in defined for c in node.find_all(exp.Column))

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
                with_ = pushed.args.get("with")
                existing = list(with_.expressions) if with_ else []
                new = [exp.CTE(this=body.copy(), alias=exp.TableAlias(this=exp.to_identifier(n)))
                       for n, body in deps]
                pushed.set("with", exp.With(expressions=new + existing))
        if container == "exists" and isinstance(pushed, exp.Select) and not pushed.args.get("limit"):
            pushed = pushed.limit(1, copy=False)
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
        with_ = query.args.get("with")
        if isinstance(query, exp.SetOperation):
            for branch in (query.left, query.right):
                if not self.try_push_subtree(branch, "branch"):
                    self.plan_query(branch)
        elif isinstance(query, exp.Select):
            self.plan_select(query)
        if with_ is not None:
            self._plan_ctes(query, with_)

    def _cte_refs(self, node: exp.Expression, with_: exp.With | None = None) -> set[str]:
        names = {c.alias_or_name for c in (with_.expressions if with_ else [])}
        return {
            t.name
            for t in node.find_all(exp.Table)
            if t.name in names and (with_ is None or t.find_ancestor(exp.With) is not with_)
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
            needed |= self._cte_refs(cte.this, with_)
        if not with_.expressions:
            query.set("with", None)

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
            if key == "with":
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, (exp.Select, exp.SetOperation)):
                    found.append((child, "expr"))
                elif isinstance(child, exp.Expression):
                    visit(child)
        return found

    def plan_select(self, select: exp.Select) -> None:
        """Plan one SELECT: its subqueries, then joins and filters of its FROM clause."""
        for child, container in self._child_queries(select):
            if container == "lateral" or not self.try_push_subtree(child, container):
                self.plan_query(child)
        if self.level == "bare":
            return
        items, joins = _from_items(select)
        if not items:
            return
        if not all(_simple_join(j) for j in joins) or not isinstance(items[0], (exp.Table, exp.Subquery)):
            self._push_first_item_filters(select, items, joins)
            return
        if self.level == "full" and len(items) > 1:
            if all(not _side(j) for j in joins):
                self._group_inner(select)
            else:
                self._group_prefix(select)
        self._push_single_filters(select)

    # -- same-source joins --------------------------------------------------------------
    def _physical(self, node: exp.Expression) -> str | None:
        if isinstance(node, exp.Table) and node.name in self.refs and node.alias in self.alias_virtual:
            return node.alias
        return None

    def _group_inner(self, select: exp.Select) -> None:
        items, joins = _from_items(select)
        pool = conjuncts(select.args.get("where")) + [c for j in joins for c in conjuncts(j.args.get("on"))]
        physical = {a: self.source_of(a) for a in map(self._physical, items) if a}
        parent = {a: a for a in physical}

        def find(a: str) -> str:
            while parent[a] != a:
                a = parent[a]
            return a

        prepared: dict[int, exp.Expression] = {}
        for cond in pool:
            refs = aliases_in(cond)
            if len(refs) != 2 or not refs <= physical.keys() or len({physical[a] for a in refs}) != 1:
                continue
            if not (isinstance(cond, exp.EQ) and isinstance(cond.this, exp.Column)
                    and isinstance(cond.expression, exp.Column)):
                continue  # only key equalities link tables; others could multiply rows
            fixed = self.prepared_filter(cond, physical[next(iter(refs))])
            if fixed is None:
                continue
            prepared[id(cond)] = fixed
            first, *rest = sorted(refs)
            for other in rest:
                parent[find(other)] = find(first)
        groups: dict[str, list[str]] = {}
        for alias in physical:
            groups.setdefault(find(alias), []).append(alias)
        groups = {k: v for k, v in groups.items() if len(v) > 1}
        if not groups:
            return
        placeholder: dict[str, exp.Table] = {}
        dropped: set[str] = set()
        for members in groups.values():
            source = physical[members[0]]
            mine = set(members)
            conds = []
            for cond in list(pool):
                refs = aliases_in(cond)
                if refs and refs <= mine:
                    fixed = prepared.get(id(cond)) or self.prepared_filter(cond, source)
                    if fixed is not None:
                        conds.append(fixed)
                        pool.remove(cond)
            ordered = self._join_order(members, conds)
            label = "_".join(members)
            name = self.temp_name(source, "join")
            alias = self._fresh_alias(label)
            self.pending.append(Pending("join", source, name, alias=alias, members=ordered[0], filters=ordered[1]))
            placeholder[members[0]] = exp.Table(
                this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias))
            )
            self.group_members[alias] = mine
            dropped.update(members[1:])
        new_items: list[tuple[exp.Expression, set[str]]] = []
        for node in items:
            if node.alias in placeholder:
                new = placeholder[node.alias]
                new_items.append((new, self.group_members[new.alias]))
            elif node.alias not in dropped:
                new_items.append((node, {node.alias}))
        placed = set(new_items[0][1])
        new_joins = []
        for node, covers in new_items[1:]:
            on = [c for c in pool if aliases_in(c) & covers and aliases_in(c) <= placed | covers
                  and not c.find(exp.Query)]
            for c in on:
                pool.remove(c)
            new_joins.append(exp.Join(this=node, on=_and(on)) if on else exp.Join(this=node, kind="CROSS"))
            placed |= covers
        select.set("from_", exp.From(this=new_items[0][0]))
        select.set("joins", new_joins or None)
        select.set("where", exp.Where(this=_and(pool)) if pool else None)

    def _join_order(self, members: list[str], conds: list[exp.Expression]):
        """Order members so each joins on conditions over already placed ones."""
        placed = [members[0]]
        steps: list[tuple[str, str, list[exp.Expression]]] = [(members[0], "", [])]
        left = list(conds)
        while len(placed) < len(members):
            for alias in members:
                if alias in placed:
                    continue
                on = [c for c in left if alias in aliases_in(c) and len(aliases_in(c)) > 1
                      and aliases_in(c) <= set(placed) | {alias}]
                if on:
                    break
            else:  # pragma: no cover - components are connected by construction
                alias, on = next(a for a in members if a not in placed), []
            for c in on:
                left.remove(c)
            steps.append((alias, "", on))
            placed.append(alias)
        return steps, left

    def _fresh_alias(self, label: str) -> str:
        base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in label)[:40] or "g"
        taken = set(self.alias_virtual) | set(self.group_members) | self.reserved
        alias, n = base, 2
        while alias in taken:
            alias, n = f"{base}_{n}", n + 1
        self.group_members[alias] = set()
        return alias

    def _group_prefix(self, select: exp.Select) -> None:
        items, joins = _from_items(select)
        first = self._physical(items[0])
        if first is None:
            return
        source = self.source_of(first)
        members: list[tuple[str, str, list[exp.Expression]]] = [(first, "", [])]
        for item, join in zip(items[1:], joins, strict=True):
            alias = self._physical(item)
            side = _side(join)
            if alias is None or self.source_of(alias) != source or side not in ("", "LEFT"):
                break
            prefix = {m[0] for m in members} | {alias}
            conds = conjuncts(join.args.get("on"))
            fixed = [self.prepared_filter(c, source) if aliases_in(c) <= prefix else None for c in conds]
            if any(f is None for f in fixed):
                break
            members.append((alias, side, fixed))  # type: ignore[arg-type]
        if len(members) < 2:
            return
        mine = {m[0] for m in members}
        later = joins[len(members) - 1:]
        filters: list[exp.Expression] = []
        if all(_side(j) in ("", "LEFT") for j in later):
            keep = []
            for cond in conjuncts(select.args.get("where")):
                refs = aliases_in(cond)
                fixed = self.prepared_filter(cond, source) if refs and refs <= mine else None
                (filters if fixed is not None else keep).append(fixed if fixed is not None else cond)
            select.set("where", exp.Where(this=_and(keep)) if keep else None)
        name = self.temp_name(source, "join")
        alias = self._fresh_alias("_".join(m[0] for m in members))
        self.pending.append(Pending("join", source, name, alias=alias, members=members, filters=filters))
        select.set("from_", exp.From(this=exp.Table(this=exp.to_identifier(name),
                                                    alias=exp.TableAlias(this=exp.to_identifier(alias)))))
        select.set("joins", later or None)
        self.group_members[alias] = mine

    # -- single-table filters -----------------------------------------------------------
    def _push_first_item_filters(self, select: exp.Select, items, joins) -> None:
        """SEMI/ANTI/ASOF/LATERAL joins keep every row of the first table: filter it early."""
        first = self._physical(items[0])
        positional = any((j.args.get("method") or "").upper() == "POSITIONAL" for j in joins)
        if first is None or positional or any(_side(j) in ("RIGHT", "FULL") for j in joins):
            self.note("join kind not analysed; only projections pushed for its tables")
            return
        keep = []
        for cond in conjuncts(select.args.get("where")):
            fixed = self.prepared_filter(cond, self.source_of(first)) if aliases_in(cond) == {first} else None
            if fixed is None:
                keep.append(cond)
            else:
                self.filters.setdefault(first, []).append(fixed)
        select.set("where", exp.Where(this=_and(keep)) if keep else None)

    def _push_single_filters(self, select: exp.Select) -> None:
        items, joins = _from_items(select)
        aliases = [getattr(n, "alias", "") for n in items]
        singles = {a for a in map(self._physical, items) if a}
        nullable_before: list[set[str]] = [set()]
        nullable: set[str] = set()
        for i, join in enumerate(joins, start=1):
            nullable_before.append(set(nullable))
            side = _side(join)
            if side == "LEFT":
                nullable.add(aliases[i])
            elif side == "RIGHT":
                nullable |= set(aliases[:i])
            elif side == "FULL":
                nullable |= set(aliases[: i + 1])

        def push(cond: exp.Expression, allowed: set[str], null_side: set[str]) -> bool:
            """Push ``cond`` if it touches one allowed table; True when it can leave."""
            refs = aliases_in(cond)
            if len(refs) != 1 or not refs <= allowed:
                return False
            alias = next(iter(refs))
            if alias in null_side and not _null_rejecting(cond):
                return False
            fixed = self.prepared_filter(cond, self.source_of(alias))
            if fixed is None:
                return False
            self.filters.setdefault(alias, []).append(fixed)
            return alias not in null_side

        where = conjuncts(select.args.get("where"))
        keep = [c for c in where if not push(c, singles, nullable)]
        if len(keep) != len(where):
            select.set("where", exp.Where(this=_and(keep)) if keep else None)
        for i, join in enumerate(joins, start=1):
            side = _side(join)
            if side in ("RIGHT", "FULL"):
                continue
            conds = conjuncts(join.args.get("on"))
            if side == "LEFT":
                allowed = singles & {aliases[i]}
                keep = [c for c in conds if not push(c, allowed, set())]
            else:
                allowed = singles & set(aliases[: i + 1])
                keep = [c for c in conds if not push(c, allowed, nullable_before[i])]
            if len(keep) != len(conds):
                join.set("on", _and(keep) if keep else exp.true())
