"""Second pass: from spans to a :class:`Draft`, the roles the words of a question play.

A draft says *what* is asked (measures, groupings, conditions, time, ordering, limit)
in terms of :class:`.linking.Mention` s, before any table is chosen. Follow-up questions
are merged at this level (:func:`merge_follow_up`), so "now by month" simply replaces the
groupings of the previous draft.
"""

from __future__ import annotations

from .draft import Cond, Dim, Draft, Measure, merge_follow_up
from .lexicon import (
    BUCKET_ADJECTIVES,
    FOLLOW_UP_ADD,
    FOLLOW_UP_START,
    GROUP_BREAKERS,
    QUALIFIER_NOUNS,
    ROW_WORDS,
    phrase,
)
from .linking import Mention, SchemaIndex, Target
from .spans import Span, scan
from .text import Token, tokenize

__all__ = ["Cond", "Dim", "Draft", "Measure", "merge_follow_up", "parse_question"]


def _measure_like(m: Mention, index: SchemaIndex | None = None) -> bool:
    """A word standing for an amount: price x quantity, or a synonym of a numeric, non-key, non-year column."""
    def amount(t: Target) -> bool:
        if t.kind == "product":
            return True
        if t.kind != "column" or not t.how.startswith("synonym"):
            return False
        if index is None:
            return True
        col = index.catalog.tables[t.table].columns[t.column]
        return col.kind == "number" and not col.is_key and col.words[-1:] != ("year",)
    return any(amount(t) for t in m.targets[:2]) or m.best.kind == "product"


def _numeric_column(m: Mention, index: SchemaIndex) -> bool:
    t = m.best
    if t.kind == "product":
        return True
    if t.kind != "column":
        return False
    col = index.catalog.tables[t.table].columns[t.column]
    return col.kind == "number" and not col.is_key


def _is_plural(tokens: list[Token], m: Mention | None) -> bool:
    if m is None:
        return True
    last = tokens[m.end - 1]
    return last.low != last.key and last.low.endswith("s")


def parse_question(question: str, index: SchemaIndex) -> Draft:
    """Read the roles of a question's words (see :class:`Draft`)."""
    tokens = tokenize(question)
    spans = [s for s in scan(tokens, index)]
    d = Draft(question=question)
    _walk(d, spans, tokens, index)
    _settle(d, spans, tokens, index)
    return d


def _next(spans: list[Span], i: int, skip=("filler",)) -> Span | None:
    for s in spans[i + 1:]:
        if s.kind not in skip:
            return s
    return None


def _prev(spans: list[Span], i: int, skip=("filler",)) -> Span | None:
    for s in reversed(spans[:i]):
        if s.kind not in skip:
            return s
    return None


_TIME_UNITS = {"second": "second", "sec": "second", "minute": "minute", "min": "minute", "hour": "hour",
               "hr": "hour", "day": "day", "week": "week"}


def _prep(tokens: list[Token], m: Mention) -> str | None:
    return tokens[m.start - 1].low if m.start > 0 else None


def _walk(d: Draft, spans: list[Span], tokens: list[Token], index: SchemaIndex) -> None:
    agg: str | None = None
    distinct = False
    group = False
    cmp: str | None = None
    neg = False
    sup = False
    sort = False
    which_at: int | None = None
    rank_next = False
    for i, s in enumerate(spans):
        k = s.kind
        if which_at == -1 and k not in ("filler", "number", "list", "mention", "and"):
            which_at = None
        if k == "filler":
            if group and s.text.lower() in GROUP_BREAKERS:
                group = False  # "by genre for premium members": the grouping ended
            if s.text.lower() == "between" and cmp is None:
                nxt = _next(spans, i)
                if nxt is not None and nxt.kind == "number":
                    cmp = "between"
            continue
        if k == "and":
            continue
        if k == "unknown":
            key = tokens[s.start].key
            prev = _prev(spans, i)
            if (tokens[s.start].low in QUALIFIER_NOUNS or key in QUALIFIER_NOUNS) and prev is not None \
                    and prev.kind == "mention":
                continue  # "membership type": the noun only qualifies the column before it
            if key in ROW_WORDS and agg == "count":
                d.row_count = True
                d.measures.append(Measure("count", None, word=s.text))
                agg = None
                continue
            d.unknown.append(s.text)
            continue
        if k == "time":
            d.times.append(s.value)
            group = False
            continue
        if k == "agg":
            nxt = _next(spans, i)
            if group and s.value == "count" and nxt is not None and nxt.kind == "mention" \
                    and _numeric_column(nxt.mention, index):
                continue  # "per number of cylinders": group by the cylinders column
            if s.value == "distinct":
                distinct = True
            elif agg is not None and agg != "count" and s.value == "count":
                pass  # "average number of pages": the count words only introduce the noun
            else:
                agg = s.value
            if group and not d.dims:
                group = False
            continue
        if k == "sup":
            d.order = s.value
            sup = True
            group = False
            nxt = _next(spans, i)
            if nxt is None or nxt.kind in ("time", "and"):
                sup = False
                if agg is None and not d.measures and s.mention is None:
                    d.asks_list = True
            continue
        if k == "adj":
            d.order, d.order_hint = s.value[1], s.value[0]
            continue
        if k == "top":
            d.order = s.value
            continue
        if k == "group":
            before = tokens[s.start - 1].low if s.start > 0 else ""
            if s.text.lower() == "by" and i > 0 and spans[i - 1].kind in ("filler", "unknown") \
                    and before.endswith(("ed", "en", "wn", "ght")):
                continue  # "flown by Canadian airlines": the agent, not a grouping
            group = True
            continue
        if k == "bucket":
            prev = _prev(spans, i)
            standalone = phrase(s.text.lower()) in BUCKET_ADJECTIVES or s.value == "auto" \
                or s.text.lower().split()[0] in ("per", "each", "every", "by")
            ranking = d.order is not None and not d.dims and s.value != "day"  # "lowest revenue month"
            if group or standalone or ranking or (prev is not None and prev.kind in ("list", "number")):
                d.dims.append(Dim(None, s.value, s.mention))
                if ranking and not group and not standalone:
                    d.singular_rank = not tokens[s.end - 1].low.endswith("s")
                if prev is not None and prev.kind == "list":
                    which_at = len(d.dims) - 1
                    d.singular_rank = not tokens[s.end - 1].low.endswith("s")
            elif s.mention is not None:
                d.others.append(s.mention)
            continue
        if k == "cmp":
            cmp = s.value
            continue
        if k == "neg":
            neg = True
            continue
        if k == "change":
            d.compare = True
            continue
        if k == "share":
            d.share = True
            continue
        if k == "sort":
            sort, group = True, False
            continue
        if k == "list":
            d.asks_list = True
            if s.text.lower() in ("which", "what", "who", "what are", "what were", "what is", "what was"):
                which_at = -1
            continue
        if k == "number":
            prev, nxt = _prev(spans, i), _next(spans, i)
            if cmp is not None:
                if cmp == "between":
                    if d.conds and d.conds[-1].kind == "compare" and d.conds[-1].op == "between" \
                            and len(d.conds[-1].numbers) == 1:
                        d.conds[-1].numbers.append(s.value)
                        cmp = None
                        continue
                    target = d.others.pop() if d.others and _numeric_column(d.others[-1], index) else None
                    d.conds.append(Cond("compare", target, "between", [s.value]))
                    continue
                target = None
                if nxt is not None and nxt.kind == "mention" and (nxt.mention.is_table or _numeric_column(nxt.mention, index)):
                    target = nxt.mention
                    nxt.kind = "consumed"
                elif d.others and _numeric_column(d.others[-1], index):
                    target = d.others.pop()
                kind = "count" if target is not None and target.is_table else "compare"
                unit = None
                if nxt is not None and nxt.kind in ("unknown", "filler", "bucket") and \
                        tokens[nxt.start].key in _TIME_UNITS:
                    unit = _TIME_UNITS[tokens[nxt.start].key]
                    nxt.kind = "consumed"
                d.conds.append(Cond(kind, target, cmp, [s.value], unit=unit))
                cmp = None
                continue
            if prev is not None and (prev.kind == "top" or (prev.kind == "list" and which_at == -1)
                                     or prev.text.lower() in ("show", "list", "give", "first", "the")):
                d.limit = int(s.value)
                rank_next = True
                continue
            if nxt is not None and nxt.kind in ("sup", "adj"):
                d.limit = int(s.value)
                rank_next = True
                continue
            if nxt is not None and nxt.kind == "mention" and _numeric_column(nxt.mention, index):
                d.conds.append(Cond("compare", nxt.mention, "!=" if neg else "=", [s.value]))
                nxt.kind = "consumed"
                neg = False
                continue
            if nxt is not None and nxt.kind == "mention" and (prev is None or prev.kind in ("list", "agg")):
                d.limit = int(s.value)
                continue
            d.unknown.append(s.text)
            continue
        if k == "consumed":
            continue
        if k != "mention":
            continue
        m = s.mention
        if sort:
            d.order_mention, sort = m, False
            d.order = d.order or "desc"
            continue
        if group and m.is_value and i > 0 and spans[i - 1].kind == "group":
            group = False  # "books by Japanese authors": who, not a grouping
        if group:
            if (_measure_like(m, index) or _numeric_column(m, index)) and not d.measures and agg is None \
                    and (d.order or d.limit) and not m.is_value:
                d.measures.append(Measure(None, m, word=m.text, from_superlative=True))
                group = False
                continue
            if m.is_value:
                d.conds.append(Cond("value", m, "!=" if neg else "=", prep=_prep(tokens, m)))
                neg = False
                continue
            d.dims.append(Dim(m))
            continue
        if agg is not None or distinct:
            a = agg or "count"
            if a == "count" and distinct:
                a = "count_distinct"
            nxt = _next(spans, i)
            if a != "count" and m.is_table and nxt is not None and nxt.kind == "mention" \
                    and not nxt.mention.is_table and not nxt.mention.is_value:
                d.subject = d.subject or m  # "average order amount": order qualifies amount
                continue
            if m.is_value:  # "total renewables generation": a condition, the measure comes next
                d.conds.append(Cond("value", m, "!=" if neg else "=", prep=_prep(tokens, m)))
                neg = False
                continue
            d.measures.append(Measure(a, m, word=m.text))
            agg, distinct = None, False
            continue
        if sup:
            sup = False
            d.measures.append(Measure(None, m, word=m.text, from_superlative=True))
            continue
        if m.is_value:
            d.conds.append(Cond("value", m, "!=" if neg else "=", prep=_prep(tokens, m)))
            neg = False
            continue
        if neg and not m.is_table:  # "never returned": no value in that column
            d.conds.append(Cond("null", m, "is_null"))
            neg = False
            continue
        if neg and m.is_table and _has_entity(d):  # "customers with no orders": none related
            d.conds.append(Cond("count", m, "=", [0]))
            neg = False
            continue
        if which_at == -1 or rank_next:
            which_at, rank_next = None, False
            d.others.append(m)
            d.singular_rank = not _is_plural(tokens, m)
            m.ranked = True
            continue
        d.others.append(m)
    if agg is not None:
        d.measures.append(Measure(agg if not distinct else "count_distinct", None))


def _has_entity(d: Draft) -> bool:
    """Has the question already named what is listed or counted ("customers ... no orders")?"""
    return any(m.is_table for m in d.others) or d.subject is not None or any(
        m.mention is not None and m.mention.is_table for m in d.measures)


def _settle(d: Draft, spans: list[Span], tokens: list[Token], index: SchemaIndex) -> None:
    """Assign the remaining mentions: qualifiers, subject, implicit measures and rankings."""
    value_cols = {(t.table, t.column) for c in d.conds if c.kind == "value" and c.mention for t in c.mention.targets}
    kept = []
    for m in d.others:
        if m.best.kind == "column" and (m.best.table, m.best.column) in value_cols:
            continue  # "Electronics category": the column only names the value's column
        kept.append(m)
    d.others = kept
    if d.subject is None:
        for m in d.others:
            if m.is_table and not m.ranked:
                d.subject = m
                d.others.remove(m)
                break
    if not d.measures:
        for m in list(d.others):
            if m.ranked:
                continue
            if _measure_like(m, index) or (_numeric_column(m, index) and (d.dims or d.compare)):
                d.measures.append(Measure(None, m, word=m.text))
                d.others.remove(m)
                break
    if d.order_hint and not d.measures:
        named = [m for m in d.others if not m.ranked and _numeric_column(m, index)]
        if named:  # "longest flight distance": the quantity is named, so it is MAX(distance)
            d.others.remove(named[0])
            d.measures.append(Measure(None, named[0], word=named[0].text, from_superlative=True))
    if d.order_hint and not d.measures:
        hinted = _hint_mention(d, index)
        if hinted is not None:
            d.measures.append(Measure(None, hinted, word=hinted.text, from_superlative=True))
            if d.subject is not None and not d.dims and not any(m.ranked for m in d.others):
                d.singular_rank = d.subject.start >= 0 and not _is_plural(tokens, d.subject)
                d.subject.ranked = True
                d.others.insert(0, d.subject)
                d.subject = None
    counted = [m for m in d.measures if m.agg == "count" and m.mention is None]
    if counted and not d.dims and len(spans) > 1 and spans[-1].kind == "agg":  # "iris species count"
        texts = [m for m in d.others if m.best.kind == "column" and not _numeric_column(m, index)]
        if texts:
            d.others.remove(texts[0])
            d.dims.append(Dim(texts[0]))
    if not d.measures and d.subject is None and d.dims and any(d_.bucket for d_ in d.dims):
        dated = [m for m in d.others if m.best.kind == "column"
                 and index.catalog.tables[m.best.table].columns[m.best.column].temporal]
        if dated:  # "signups by month": count the rows, bucketed on that date column
            d.measures.append(Measure("count", None, word=dated[0].text))
    if d.order and not d.measures and not d.order_hint and not d.order_mention:
        entity = next((x.mention for x in d.dims if x.mention is not None and x.mention.is_table), None) \
            or next((m for m in d.others if m.ranked and m.is_table), None)
        facts = _referencing(entity, index) if entity is not None else None
        if facts is not None:  # "which 3 books were borrowed the most": count the rows that refer to them
            d.measures.append(Measure("count", facts, word=facts.text, from_superlative=True))
    if not d.measures and d.subject is not None and (d.dims or d.compare) and not d.asks_list_rows:
        d.measures.append(Measure("count", None, word=d.subject.text))  # "orders per month": count them
    ranked = [m for m in d.others if m.ranked]
    if ranked and d.measures:
        m = ranked[0]
        d.others.remove(m)
        if not any(x.mention is not None and x.mention.best.same_thing(m.best) for x in d.dims):
            d.dims.insert(0, Dim(m))  # "by country for the top 5 countries": one grouping
    elif ranked and d.subject is None and ranked[0].is_table:
        d.subject = ranked[0]
        d.others.remove(ranked[0])
    if d.order is not None and d.order_mention is None and not d.measures and d.others and not d.order_hint:
        numeric = [m for m in d.others if _numeric_column(m, index)]
        if numeric:
            d.order_mention = numeric[0]
            d.others.remove(numeric[0])
    if d.order is not None and d.limit is None and d.dims and d.singular_rank:
        d.limit = 1
    first = tuple(t.low for t in tokens[:3])
    if any(first[:n] in FOLLOW_UP_START for n in (1, 2, 3)):
        d.follow_up = True
    if any(tuple(t.low for t in tokens[i:i + n]) in FOLLOW_UP_ADD for n in (1, 2, 3) for i in range(len(tokens))):
        d.follow_add = d.follow_up = True
    if any(t.low in ("instead", "same", "rather") for t in tokens):
        d.follow_up = True


def _referencing(entity: Mention, index: SchemaIndex) -> Mention | None:
    """A mention of the one table whose rows refer to ``entity``'s table (its fact table), if unique."""
    key = entity.best.table
    tables = sorted({r.from_table for r in index.catalog.relationships if r.to_table == key and r.from_table != key})
    if len(tables) != 1:
        return None
    return Mention(-1, -1, index.catalog.tables[tables[0]].name.replace("_", " "),
                   [Target("table", tables[0], score=1.0, how=f"rows referring to {'.'.join(key)}")])


def _hint_mention(d: Draft, index: SchemaIndex) -> Mention | None:
    """A mention standing for an adjective's quantity ("most expensive" -> price columns)."""
    targets = []
    for rank, word in enumerate(d.order_hint):
        if word.startswith("@"):
            continue
        for t in index.lookup((word,)):
            if t.kind in ("column", "product"):
                targets.append(type(t)(t.kind, t.table, t.column, t.value, t.columns,
                                       round(t.score * (1 - 0.05 * rank), 3), f"{t.how} (from '{word}')"))
    if "@date" in d.order_hint:
        for table in index.catalog.tables.values():
            for col in table.date_columns():
                targets.append(Target("column", table.key, col.name, score=0.6, how="date column"))
    if not targets:
        return None
    targets.sort(key=lambda t: (-t.score, t.label))
    return Mention(-1, -1, d.order_hint[0], targets)
