"""FROM-clause planning: same-source join groups and single-table filter pushdown.

Rules (each keeps the statement's meaning; when unsure nothing is pushed):

* With only inner/cross joins, tables of one source linked by ``a.x = b.y`` predicates
  are joined at the source, together with every predicate that touches only them. Other
  predicates never link tables (a ``year(d) = t.year`` link could multiply rows).
* With outer joins, only a leading run ``t0 [LEFT] JOIN t1 ...`` of one source's tables is
  joined at the source (it is a self-contained subtree of the left-deep join); the
  statement's WHERE conjuncts over that run move into it unless a later RIGHT/FULL join
  could null-extend it.
* A single-table WHERE conjunct moves into that table's fetch unless the table is on the
  null-extended side of an outer join; there a null-rejecting conjunct (a comparison of
  plain columns and literals) is copied into the fetch and also kept.
* ON conjuncts: an inner join's single-table conjuncts move like WHERE conjuncts (with
  the nullability of the joins before it); a LEFT JOIN's conjuncts over its right table
  move into it; conjuncts over the left side, and RIGHT/FULL joins' conjuncts, stay.
* SEMI/ANTI/ASOF/LATERAL joins keep every row of the first table, so only WHERE
  conjuncts over that table are pushed; POSITIONAL joins get no filters at all.
* ``(A AND B) OR (A AND C)`` is first rewritten to ``A AND (B OR C)``; an OR over
  several tables also yields a weaker pre-filter per table (``a.x = 1 OR a.x = 3``) that
  is pushed while the OR itself stays in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from .dialects import NotPushable, prepare
from .predicates import aliases_in, and_all, conjuncts, factor_or, implied_filter, null_rejecting

__all__ = ["JoinPlanning", "Pending"]


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
    # table: other aliases of the same table with the same filters, served by this one fetch
    shared: list[str] = field(default_factory=list)


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


class JoinPlanning:
    """Mixin for :class:`~.pushdown.Walker`: plans the FROM clause of one SELECT.

    Uses the walker's ``refs``, ``alias_virtual``, ``pending``, ``filters``,
    ``group_members``, ``reserved``, ``source_of``, ``temp_name``, ``note``,
    ``prepared_filter`` and ``held``.
    """

    def refs_of(self, cond: exp.Expression) -> set[str]:
        """Tables a conjunct is about: its columns' tables, or for a held ``[NOT] EXISTS``
        (see :meth:`~.pushdown.Walker.hold_exists`) the outer tables it is correlated with."""
        held = self.held.get(id(cond))
        return set(held) if held is not None else aliases_in(cond)

    def plan_from(self, select: exp.Select) -> None:
        """Group same-source joins, then push single-table filters, for one SELECT."""
        items, joins = _from_items(select)
        if not items:
            return
        if not all(_simple_join(j) for j in joins) or not isinstance(items[0], (exp.Table, exp.Subquery)):
            self._push_first_item_filters(select, items, joins)
            return
        self._factor_ors(select, joins)
        if self.level == "full" and len(items) > 1:
            if all(not _side(j) for j in joins):
                self._group_inner(select)
            else:
                self._group_prefix(select)
        self._push_single_filters(select)

    @staticmethod
    def _factor_ors(select: exp.Select, joins: list[exp.Join]) -> None:
        where = conjuncts(select.args.get("where"))
        factored = [f for c in where for f in factor_or(c)]
        if len(factored) != len(where) or any(a is not b for a, b in zip(factored, where, strict=False)):
            select.set("where", exp.Where(this=and_all(factored)))
        for join in joins:
            on = conjuncts(join.args.get("on"))
            factored = [f for c in on for f in factor_or(c)]
            if len(factored) != len(on) or any(a is not b for a, b in zip(factored, on, strict=False)):
                join.set("on", and_all(factored))

    def _implied(self, cond: exp.Expression, allowed: set[str], source: str) -> exp.Expression | None:
        """A pushable pre-filter for ``allowed`` implied by an OR conjunct (quietly None)."""
        implied = implied_filter(cond, allowed)
        if implied is None:
            return None
        try:
            return prepare(implied, self.dialect_of[source], filter_only=True)
        except NotPushable:
            return None

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
            refs = self.refs_of(cond)
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
                refs = self.refs_of(cond)
                if refs and refs <= mine:
                    fixed = prepared.get(id(cond)) or self.prepared_filter(cond, source)
                    if fixed is not None:
                        conds.append(fixed)
                        pool.remove(cond)
            for cond in pool:  # pre-filters implied by ORs that reach beyond the group
                implied = self._implied(cond, mine, source)
                if implied is not None:
                    conds.append(implied)
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
            on = [c for c in pool if self.refs_of(c) & covers and self.refs_of(c) <= placed | covers
                  and not c.find(exp.Query)]
            for c in on:
                pool.remove(c)
            new_joins.append(exp.Join(this=node, on=and_all(on)) if on else exp.Join(this=node, kind="CROSS"))
            placed |= covers
        select.set("from_", exp.From(this=new_items[0][0]))
        select.set("joins", new_joins or None)
        select.set("where", exp.Where(this=and_all(pool)) if pool else None)

    def _join_order(self, members: list[str], conds: list[exp.Expression]):
        """Order members so each joins on conditions over already placed ones."""
        placed = [members[0]]
        steps: list[tuple[str, str, list[exp.Expression]]] = [(members[0], "", [])]
        left = list(conds)
        while len(placed) < len(members):
            for alias in members:
                if alias in placed:
                    continue
                on = [c for c in left if alias in self.refs_of(c) and len(self.refs_of(c)) > 1
                      and self.refs_of(c) <= set(placed) | {alias}]
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
            fixed = [self.prepared_filter(c, source) if self.refs_of(c) <= prefix else None for c in conds]
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
                refs = self.refs_of(cond)
                fixed = self.prepared_filter(cond, source) if refs and refs <= mine else None
                (filters if fixed is not None else keep).append(fixed if fixed is not None else cond)
            select.set("where", exp.Where(this=and_all(keep)) if keep else None)
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
            fixed = self.prepared_filter(cond, self.source_of(first)) if self.refs_of(cond) == {first} else None
            if fixed is None:
                keep.append(cond)
            else:
                self.filters.setdefault(first, []).append(fixed)
        select.set("where", exp.Where(this=and_all(keep)) if keep else None)

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
            refs = self.refs_of(cond)
            if len(refs) != 1 or not refs <= allowed:
                return False
            alias = next(iter(refs))
            if alias in null_side and not null_rejecting(cond):
                return False
            fixed = self.prepared_filter(cond, self.source_of(alias))
            if fixed is None:
                return False
            self.filters.setdefault(alias, []).append(fixed)
            return alias not in null_side

        where = conjuncts(select.args.get("where"))
        keep = [c for c in where if not push(c, singles, nullable)]
        if len(keep) != len(where):
            select.set("where", exp.Where(this=and_all(keep)) if keep else None)
        for cond in keep:  # pre-filters implied by ORs over several tables
            for alias in (self.refs_of(cond) & singles) - nullable:
                implied = self._implied(cond, {alias}, self.source_of(alias))
                if implied is not None:
                    self.filters.setdefault(alias, []).append(implied)
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
                join.set("on", and_all(keep) if keep else exp.true())
