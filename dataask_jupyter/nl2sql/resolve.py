"""Third pass: choose the base table and the meaning of every mention, giving a :class:`QuerySpec`.

The base table is the one whose rows are measured (or listed). Each candidate base is
scored by how well every mention can be reached from it along many-to-one relationships
(a hop costs 10 %, a hop into another connection 15 %); the best wins and each mention
takes its best reachable meaning. Two different meanings with the same score raise
:class:`NeedsClarification`; a mention that cannot be reached at all is reported.
"""

from __future__ import annotations

from .draft import Draft
from .errors import NeedsClarification, NotUnderstood
from .lexicon import DEFAULT_SUM_WORDS, PREPOSITION_HINTS, RATIO_WORDS
from .linking import Mention, SchemaIndex, Target
from .plan import (
    ColRef,
    CountFilter,
    DimSpec,
    FilterSpec,
    MeasureSpec,
    QuerySpec,
    Reach,
    reach,
)
from .resolve_time import apply_time, auto_bucket, period_tag, time_column
from .schema import SchemaCatalog, TableInfo
from .text import norm

__all__ = ["resolve"]

Key = tuple[str, str]


class _Ctx:
    def __init__(self, catalog: SchemaCatalog, base: Key, r: Reach) -> None:
        self.catalog, self.base, self.reach = catalog, base, r
        self.notes: list[str] = []

    def pick(self, m: Mention, kinds=("table", "column", "value", "product"), *, strict=True,
             role: str = "", bonus=None) -> Target | None:
        scored = sorted(((_role_score(self.catalog, self.reach, t, role) * (bonus(t) if bonus else 1.0), t)
                         for t in m.targets if t.kind in kinds),
                        key=lambda st: (-st[0], st[1].label))
        scored = [(s, t) for s, t in scored if s > 0]
        if not scored:
            return None
        best_s, best = scored[0]
        if strict:
            rivals = [t for s, t in scored[1:] if abs(s - best_s) < 1e-9 and not t.same_thing(best)
                      and not (t.kind == "value" and best.kind == "value" and t.column == best.column
                               and t.table == best.table)]
            if rivals:
                raise NeedsClarification(m.text, [best.label] + [t.label for t in rivals])
        note = f"'{m.text}' -> {best.label} ({best.how})"
        if note not in self.notes:
            self.notes.append(note)
        return best

    def table(self, key: Key) -> TableInfo:
        return self.catalog.tables[key]


def _role_mentions(d: Draft) -> list[tuple[Mention, float, tuple[str, ...], str]]:
    out = [(m.mention, 2.0, _measure_kinds(m.agg), "measure") for m in d.measures if m.mention]
    out += [(x.mention, 1.0, ("column", "table"), "dim") for x in d.dims if x.mention]
    out += [(c.mention, 1.0, ("value",) if c.kind == "value" else ("table",) if c.kind == "count"
             else ("column", "product"), c.kind) for c in d.conds if c.mention]
    if d.subject is not None:
        out.append((d.subject, 1.5, ("table",), "subject"))
    if d.order_mention is not None:
        out.append((d.order_mention, 1.0, ("column",), "order"))
    out += [(m, 0.5, ("table", "column", "value"), "other") for m in d.others]
    return out


def _measure_kinds(agg: str | None) -> tuple[str, ...]:
    """What a measured word may be: "total sales" is an amount, never a row count of a table named sales."""
    if agg in ("sum", "avg", "min", "max", "median"):
        return ("column", "product")
    return ("column", "product", "table")


def _role_score(catalog: SchemaCatalog, r: Reach, t: Target, role: str) -> float:
    if role == "measure" and t.kind in ("column", "product"):
        return t.score if t.table == r.base else 0.0  # a measure never sits behind a join (no double counting)
    if role == "count":  # "customers with more than 10 orders": orders must refer to the base
        return t.score if any(x.from_table == t.table and x.to_table == r.base for x in catalog.relationships) else 0.0
    return t.score * r.factor.get(t.table, 0.0)


def choose_base(d: Draft, catalog: SchemaCatalog) -> tuple[Key, Reach]:
    roles = _role_mentions(d)
    measured = [m.mention for m in d.measures if m.mention]
    pool = measured or ([d.subject] if d.subject else []) or [m for m, _, _, _ in roles]
    candidates = sorted({t.table for m in pool for t in m.targets})
    if not candidates:
        raise NotUnderstood("I could not find a table or column in the question.",
                            unmapped_words=d.unknown, hint="Name a table or column of the connected databases.")
    best: tuple | None = None
    ranked: list[tuple] = []
    for key in candidates:
        r = reach(catalog, key)
        total, ok = 0.0, True
        for m, weight, kinds, role in roles:
            s = max((_role_score(catalog, r, t, role) for t in m.targets if t.kind in kinds), default=0.0)
            if s == 0 and weight >= 1.0:
                ok = False
            total += weight * s
        rank = (ok, round(total, 6), -len(r.factor), key)
        ranked.append((rank, key, r))
        if best is None or rank[:3] > best[0][:3]:
            best = (rank, key, r)
    assert best is not None
    ties = [x for x in ranked if x[0][:2] == best[0][:2] and x[1] != best[1] and best[0][0]]
    if ties:
        _clarify_tie(catalog, roles, best, ties)
    if not best[0][0]:
        unreachable = [m.text for m, w, kinds, role in roles if w >= 1.0 and not any(
            _role_score(catalog, best[2], t, role) for t in m.targets if t.kind in kinds)]
        raise NotUnderstood(
            f"I could not relate {', '.join(repr(u) for u in unreachable)} to {'.'.join(best[1])}: no relationship "
            "connects those tables.", unmapped_words=unreachable,
            hint="Ask about one table at a time.")
    return best[1], best[2]


def _clarify_tie(catalog: SchemaCatalog, roles, best, ties) -> None:
    """Several base tables fit equally: ask which meaning of the first word that differs."""
    for m, _w, kinds, role in roles:
        chosen = []
        for _rank, _key, r in [best] + ties:
            scored = [(_role_score(catalog, r, t, role), t) for t in m.targets if t.kind in kinds]
            top = max(scored, key=lambda st: st[0], default=(0.0, None))
            if top[1] is not None and top[0] > 0 and not any(top[1].same_thing(c) for c in chosen):
                chosen.append(top[1])
        if len(chosen) > 1:
            raise NeedsClarification(m.text, [t.label for t in chosen])


def resolve(d: Draft, catalog: SchemaCatalog, index: SchemaIndex) -> QuerySpec:
    """Turn a draft into a :class:`QuerySpec` (raises NotUnderstood / NeedsClarification)."""
    base, r = choose_base(d, catalog)
    ctx = _Ctx(catalog, base, r)
    spec = QuerySpec(base=base)
    spec.notes.append(f"base table {'.'.join(base)}")
    _measures(d, ctx, spec)
    _dims(d, ctx, spec)
    _conds(d, ctx, spec)
    apply_time(d, ctx, spec)
    _ordering(d, ctx, spec)
    for m in d.others:  # context words must at least be reachable
        if ctx.pick(m, strict=False) is None:
            raise NotUnderstood(f"'{m.text}' does not relate to {'.'.join(base)}.", unmapped_words=[m.text])
    spec.notes[1:1] = ctx.notes
    return spec


def _alias_words(text: str) -> str:
    return "_".join(w for w in text.lower().split() if w.isalnum()) or "value"


def _default_agg(col_words: tuple[str, ...], word: str | None) -> str:
    """SUM for amounts and counts, AVG for ratios, levels and anything else."""
    words = set(col_words) | ({norm(w) for w in word.split()} if word else set())
    if set(col_words) & RATIO_WORDS:
        return "avg"
    return "sum" if words & DEFAULT_SUM_WORDS else "avg"


def _measures(d: Draft, ctx: _Ctx, spec: QuerySpec) -> None:
    for m in d.measures:
        if m.mention is None:
            subject = ctx.pick(d.subject, ("table",)) if d.subject else None
            table = subject.table if subject else ctx.base
            spec.measures.append(_count(ctx, table, "count" if not d.subject else None))
            continue
        t = None
        if m.agg == "count":  # "how many sales": the rows of a table before a column
            t = ctx.pick(m.mention, ("table",), role="measure")
        agg_word = {"max": ("max", "maximum", "high", "highest"), "min": ("min", "minimum", "low", "lowest"),
                    "avg": ("avg", "average", "mean"), "sum": ("total", "sum")}.get(m.agg or "", ())

        def bonus(t: Target, agg_word=agg_word) -> float:  # "maximum temperature" -> temp_max, not temp_min
            return 1.1 if t.column and agg_word and set(ctx.table(t.table).columns[t.column].words) & set(agg_word) \
                else 1.0

        t = t or ctx.pick(m.mention, _measure_kinds(m.agg), role="measure", bonus=bonus)
        if t is None:
            raise NotUnderstood(f"'{m.mention.text}' cannot be measured here.", unmapped_words=[m.mention.text])
        agg = m.agg
        if t.kind == "table":
            spec.measures.append(_count(ctx, t.table, None))
            continue
        if t.kind == "product":
            agg = agg if agg in ("sum", "avg", "min", "max") else "sum"
            spec.measures.append(MeasureSpec(agg, t.table, t.columns, _alias_words(m.word or "value")
                                             if m.agg is None else f"{agg}_{_alias_words(m.word or 'value')}"))
            continue
        col = ctx.table(t.table).columns[t.column]
        synonym = t.how.startswith("synonym") or t.how.startswith("abbreviation") or t.how == "acronym"
        if agg in (None,) or (agg == "count" and col.kind == "text"):
            agg = "count_distinct" if agg == "count" else _default_agg(col.words, m.word)
        plural = col.name.lower().endswith("s") and not col.name.lower().endswith("ss")
        if agg == "count" and col.kind == "number" and not col.is_key and (set(col.words) & DEFAULT_SUM_WORDS
                                                                            or plural):
            agg = "sum"  # "how many passengers": add up a column that already counts things
        if agg == "count" and col.kind != "text":
            agg = "count_col"
        if agg in ("sum", "avg", "median") and (col.kind != "number" or col.is_key):  # "total orders": count
            table = ctx.pick(m.mention, ("table",), role="measure")
            if table is not None:
                spec.measures.append(_count(ctx, table.table, None))
                continue
            if col.kind != "number":
                raise NotUnderstood(f"'{m.mention.text}' ({t.table[1]}.{t.column}) is not a number to add up "
                                    "or average.", unmapped_words=[m.mention.text])
        if agg == "count_distinct" and col.kind != "text" and col.kind != "number" and not col.temporal:
            agg = "count_col"
        word = _alias_words(m.word) if (synonym and m.word) else t.column
        alias = {"sum": f"total_{word}", "avg": f"avg_{word}", "min": f"min_{word}", "max": f"max_{word}",
                 "median": f"median_{word}", "count_distinct": f"{word}_count", "count_col": f"{word}_count"}[agg]
        if m.agg is None and synonym:
            alias = word
        spec.measures.append(MeasureSpec(agg, t.table, (t.column,), alias))


def _count(ctx: _Ctx, table: Key, _hint) -> MeasureSpec:
    info = ctx.table(table)
    alias = f"{norm(info.words[-1]) if info.words else 'row'}_count"
    if table == ctx.base:
        return MeasureSpec("count", table, (), alias)
    pk = info.primary_key
    key = ColRef(table, pk[0] if pk else next(iter(info.columns)))
    return MeasureSpec("count", table, (), alias, distinct_key=key)


def _dims(d: Draft, ctx: _Ctx, spec: QuerySpec) -> None:
    explicit_bucket = any(x.bucket not in (None, "auto") for x in d.dims)
    for dim in d.dims:
        if dim.bucket == "auto" and explicit_bucket:
            continue  # "revenue trend by quarter": the named bucket wins
        if dim.bucket is not None:
            col = None
            if dim.alt is not None:  # "by year" where a year column exists
                t = ctx.pick(dim.alt, ("column",), strict=False)
                if t is not None:
                    info = ctx.table(t.table).columns[t.column]
                    if not info.temporal:
                        spec.dims.append(DimSpec(ColRef(t.table, t.column), None, t.column))
                        continue
                    col = ColRef(t.table, t.column)
            col = col or time_column(d, ctx)
            if col is None:
                raise NotUnderstood(f"There is no date column to group by {dim.bucket}.", unmapped_words=[dim.bucket])
            bucket = dim.bucket if dim.bucket != "auto" else auto_bucket(ctx, col)
            info = ctx.table(col.table).columns[col.column]
            if not info.temporal:  # an integer year column
                spec.dims.append(DimSpec(col, None, col.column))
            else:
                spec.dims.append(DimSpec(col, bucket, bucket))
            continue
        t = ctx.pick(dim.mention, ("column", "table"))
        if t is None:
            raise NotUnderstood(f"'{dim.mention.text}' cannot be used to group here.", unmapped_words=[dim.mention.text])
        if t.kind == "column":
            spec.dims.append(DimSpec(ColRef(t.table, t.column), None, t.column))
            continue
        info = ctx.table(t.table)
        if t.table == ctx.base and all(m.table == ctx.base and m.agg == "count" for m in spec.measures) \
                and spec.measures:
            spec.notes.append(f"'{dim.mention.text}' is the grain of the count; not grouped")
            continue
        label = info.label_column or (info.primary_key[0] if info.primary_key else next(iter(info.columns)))
        pk = tuple(c for c in info.primary_key if c != label)
        if t.table == ctx.base and spec.measures and all(m.table == ctx.base and m.agg != "count" for m in spec.measures):
            if len(spec.measures) == 1 and (d.order or d.limit):  # "which product has the highest price"
                spec.measures[0].raw = True
                spec.measures[0].alias = spec.measures[0].columns[0] if len(spec.measures[0].columns) == 1 \
                    else spec.measures[0].alias
            elif not (d.order or d.limit):
                spec.notes.append(f"'{dim.mention.text}' is the grain of the measure; not grouped")
                continue
        spec.dims.append(DimSpec(ColRef(t.table, label), None, label if label != "name" else
                                 f"{norm(info.words[-1])}_name" if info.words else label, pk))


def _conds(d: Draft, ctx: _Ctx, spec: QuerySpec) -> None:
    grouped: dict[tuple, FilterSpec] = {}
    for c in d.conds:
        if c.kind == "null":
            t = ctx.pick(c.mention, ("column",))
            if t is None:
                raise NotUnderstood(f"'{c.mention.text}' does not relate to {'.'.join(ctx.base)}.",
                                    unmapped_words=[c.mention.text])
            spec.filters.append(FilterSpec(ColRef(t.table, t.column), "is_null", []))
            continue
        if c.kind == "value":
            hint = PREPOSITION_HINTS.get(c.prep or "", frozenset())

            def prefer(t: Target, hint=hint) -> float:  # "from JFK" -> origin, "to LAX" -> destination
                return 1.05 if hint and set(ctx.table(t.table).columns[t.column].words) & hint else 1.0

            t = ctx.pick(c.mention, ("value",), bonus=prefer)
            if t is None:
                raise NotUnderstood(f"'{c.mention.text}' does not relate to {'.'.join(ctx.base)}.",
                                    unmapped_words=[c.mention.text])
            ref = ColRef(t.table, t.column)
            key = (ref, c.op)
            if key in grouped:
                grouped[key].values.append(t.value)
                grouped[key].op = "in" if c.op == "=" else "not_in"
            else:
                grouped[key] = FilterSpec(ref, c.op, [t.value])
                spec.filters.append(grouped[key])
            continue
        if c.kind == "count":  # the counted table must refer to the base
            rel = None
            for t in c.mention.of_kind("table"):
                rel = next((r for r in ctx.catalog.relationships if r.from_table == t.table
                            and r.to_table == ctx.base), None)
                if rel is not None:
                    break
            if rel is None:
                raise NotUnderstood(f"'{c.mention.text}' does not refer to {'.'.join(ctx.base)}.",
                                    unmapped_words=[c.mention.text])
            target = rel.from_table
            spec.count_filters.append(CountFilter(ColRef(ctx.base, rel.to_column), ColRef(target, rel.from_column),
                                                  c.op, c.numbers[0]))
            continue
        if c.mention is not None:
            t = ctx.pick(c.mention, ("column", "product"))
            if t is None or t.kind != "column":
                raise NotUnderstood(f"'{c.mention.text}' cannot be compared with a number.", unmapped_words=[c.mention.text])
            ref = ColRef(t.table, t.column)
        else:
            ref = _default_numeric(d, ctx, spec)
        op = c.op if len(c.numbers) == 1 or c.op != "between" else "between"
        factor = _unit_factor(c.unit, ctx.table(ref.table).columns[ref.column].words)
        if factor != 1.0:
            spec.notes.append(f"{c.numbers[0]:g} {c.unit}(s) = {c.numbers[0] * factor:g} in {ref.column}")
        spec.filters.append(FilterSpec(ref, op, [_num(n * factor) for n in c.numbers]))


_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def _unit_factor(unit: str | None, col_words: tuple[str, ...]) -> float:
    """Convert ``over 2 hours`` to the unit a column is named in (``delay_minutes`` -> 120)."""
    if not unit:
        return 1.0
    col_unit = next((u for u in _SECONDS if u in col_words or u + "s" in col_words), None)
    return _SECONDS[unit] / _SECONDS[col_unit] if col_unit else 1.0


def _num(x: float):
    return int(x) if float(x).is_integer() else x


def _default_numeric(d: Draft, ctx: _Ctx, spec: QuerySpec) -> ColRef:
    for m in spec.measures:
        if len(m.columns) == 1:
            return ColRef(m.table, m.columns[0])
    info = ctx.table(ctx.base)
    nums = [c for c in info.columns.values() if c.kind == "number" and not c.is_key and not c.is_flag]
    if len(nums) == 1:
        return ColRef(ctx.base, nums[0].name)
    raise NeedsClarification("the number", [f"{info.qualified}.{c.name}" for c in nums] or [info.qualified])


def _ordering(d: Draft, ctx: _Ctx, spec: QuerySpec) -> None:
    spec.limit = d.limit
    spec.share = d.share and bool(spec.dims)
    spec.share_of_filter = d.share and not spec.dims and bool(spec.filters)
    if spec.measures:
        if d.order or d.limit:
            pick = next((i for i, m in enumerate(d.measures) if m.from_superlative), 0)
            pick = min(pick, len(spec.measures) - 1)
            alias = spec.measures[pick].alias
            if spec.compare:
                alias = f"{alias}_{period_tag(spec.compare[0])}"
            spec.order.append((alias, "ASC" if d.order == "asc" else "DESC"))
        elif not spec.dims and d.order and not spec.compare:
            pass
        if d.order and not spec.dims and len(spec.measures) == 1 and spec.measures[0].agg in ("sum", "avg") \
                and d.measures and d.measures[0].agg is None and not d.limit:
            spec.measures[0].agg = "max" if d.order == "desc" else "min"
            m = spec.measures[0]
            m.alias = f"{m.agg}_{m.columns[0]}" if len(m.columns) == 1 else m.alias
            spec.order = []
        return
    # list mode: rows of the base table
    order_col = None
    if d.order_mention is not None:
        t = ctx.pick(d.order_mention, ("column",))
        order_col = ColRef(t.table, t.column) if t else None
    elif d.order_hint:
        order_col = _hinted_column(d.order_hint, ctx)
        if order_col is None:
            raise NotUnderstood(f"No column of {'.'.join(ctx.base)} fits '{' '.join(d.order_hint)}'.",
                                unmapped_words=[d.order_hint[0]])
    explicit = []
    used = {f.col for f in spec.filters} | {p.col for p in spec.periods}
    for m in list(d.others):
        t = ctx.pick(m, ("column",), strict=False)
        if t is not None and m.best.kind == "column":
            d.others.remove(m)
            if ColRef(t.table, t.column) not in used:
                explicit.append(ColRef(t.table, t.column))
    info = ctx.table(ctx.base)
    label = info.label_column
    pinned = any(f.op == "=" and len(f.values) == 1 and f.col.table == ctx.base for f in spec.filters)
    if explicit and d.subject is not None and label and all(c.column != label for c in explicit) \
            and order_col is None and all(c.table == ctx.base for c in explicit) and not pinned:
        explicit.insert(0, ColRef(ctx.base, label))  # "regions with their managers": name, manager
    if order_col is not None:
        spec.order_col = order_col
        spec.order.append((order_col.column, "ASC" if d.order == "asc" else "DESC"))
        if not explicit:
            label = info.label_column
            explicit = [ColRef(ctx.base, label)] if label and label != order_col.column else []
            if explicit or info.label_column == order_col.column:
                explicit.append(order_col)
    spec.projection = explicit or None


def _hinted_column(hint: tuple[str, ...], ctx: _Ctx) -> ColRef | None:
    for key, _factor in sorted(ctx.reach.factor.items(), key=lambda kv: (-kv[1], kv[0])):
        info = ctx.table(key)
        for word in hint:
            for col in info.columns.values():
                if word == "@date" and col.temporal:
                    return ColRef(key, col.name)
                if norm(word) in col.words and col.kind in ("number", "date", "datetime"):
                    return ColRef(key, col.name)
        if key == ctx.base:
            continue
    return None
