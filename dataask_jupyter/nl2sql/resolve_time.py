"""Time in a resolved query: which date column, the ranges of time expressions, comparisons."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .draft import Draft
from .errors import NotUnderstood
from .plan import ColRef, FilterSpec, Period, QuerySpec
from .timeexpr import TimeExpr, resolve_range

if TYPE_CHECKING:
    from .resolve import _Ctx

__all__ = ["apply_time", "auto_bucket", "period_tag", "time_column"]

_TIME_NAMES = ("date", "time", "timestamp", "created", "day", "at", "on")


def time_column(d: Draft, ctx: _Ctx) -> ColRef | None:
    for m in list(d.others):  # "signed up in 2024" -> signup_date, "published in 2010" -> published_year
        t = ctx.pick(m, ("column",), strict=False)
        if t is None:
            continue
        col = ctx.table(t.table).columns[t.column]
        if col.temporal or (col.kind == "number" and col.words[-1:] == ("year",)):
            d.others.remove(m)
            return ColRef(t.table, t.column)
    best = None
    for key, factor in sorted(ctx.reach.factor.items(), key=lambda kv: (-kv[1], kv[0])):
        for col in ctx.table(key).date_columns():
            named = any(w in _TIME_NAMES for w in col.words)
            rank = (factor, named, -list(ctx.table(key).columns).index(col.name))
            if best is None or rank > best[0]:
                best = (rank, ColRef(key, col.name))
        if best is not None:
            return best[1]
    info = ctx.table(ctx.base)
    years = [c for c in info.columns.values() if c.kind == "number" and c.words[-1:] == ("year",)]
    return ColRef(ctx.base, years[0].name) if years else None


def auto_bucket(ctx: _Ctx, col: ColRef) -> str:
    rng = ctx.catalog.date_range(col.table, col.column)
    if not rng or not rng[0] or not rng[1]:
        return "month"
    days = (rng[1] - rng[0]).days
    return "day" if days <= 92 else ("month" if days <= 5 * 366 else "year")


def _period(e: TimeExpr, col: ColRef, ctx: _Ctx, integer_year: bool) -> Period:
    latest = None
    if e.kind in ("last", "this", "previous") or (e.year is None and e.day is None):
        rng = ctx.catalog.date_range(col.table, col.column)
        if integer_year and rng is None:
            latest = None
        latest = rng[1] if rng else None
    try:
        start, end, why = resolve_range(e, latest)
    except ValueError as exc:
        raise NotUnderstood(str(exc), unmapped_words=[e.text]) from None
    return Period(col, start, end, why, integer_year)


def apply_time(d: Draft, ctx: _Ctx, spec: QuerySpec) -> None:
    if not d.times:
        return
    col = time_column(d, ctx)
    if col is None:
        raise NotUnderstood(f"There is no date column in {'.'.join(ctx.base)} for '{d.times[0].text}'.",
                            unmapped_words=[d.times[0].text])
    integer_year = not ctx.table(col.table).columns[col.column].temporal
    spec.notes.append(f"time column {'.'.join(col.table)}.{col.column}")
    periods = []
    for e in d.times:
        if e.kind == "month_of_year":
            if integer_year:
                raise NotUnderstood(f"'{e.text}' needs a date column.", unmapped_words=[e.text])
            spec.filters.append(FilterSpec(col, "month_of_year", [e.month]))
            spec.notes.append(f"'{e.text}' = month {e.month} of every year")
            continue
        periods.append(_period(e, col, ctx, integer_year))
    for p in periods:
        spec.notes.append(p.label)
    if d.compare and periods:
        if len(periods) == 1:
            p = periods[0]
            if p.start is None or p.end is None:
                raise NotUnderstood("A comparison needs two periods.", unmapped_words=[])
            prev = _shift_back(p)
            periods.append(prev)
            spec.notes.append(f"compared with the period before: {prev.label}")
        ordered = sorted(periods[:2], key=lambda p: p.start or dt.date.min)
        spec.compare = (ordered[1], ordered[0])
    else:
        spec.periods = periods


def _shift_back(p: Period) -> Period:
    if p.start.month == 1 and p.start.day == 1 and p.end.month == 1 and p.end.day == 1:
        years = p.end.year - p.start.year
        start, end = p.start.replace(year=p.start.year - years), p.start
    else:
        span = p.end - p.start
        start, end = p.start - span, p.start
    return Period(p.col, start, end, f"{start.isoformat()} .. {(end - dt.timedelta(days=1)).isoformat()}",
                  p.integer_year)


def period_tag(p: Period) -> str:
    if p.start and p.end and p.start.month == 1 and p.start.day == 1 and p.end == p.start.replace(year=p.start.year + 1):
        return str(p.start.year)
    if p.start:
        return p.start.strftime("%Y_%m") if p.start.day == 1 else p.start.isoformat().replace("-", "_")
    return "period"
