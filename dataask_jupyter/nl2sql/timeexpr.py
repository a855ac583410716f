"""Time expressions in questions and the date ranges they mean.

Recognized: years (``in 2024``), months (``March 2024``, ``in March``), quarters
(``Q1 2024``), ISO dates, ranges (``between 2022 and 2023``, ``from March to June 2024``),
open ranges (``since 2023``, ``before 2024``, ``after``, ``until``) and relative periods
(``last 6 months``, ``past 30 days``, ``this year``, ``last year``, ``year to date``).
Relative periods count back from the latest date *in the data*, never from today, so the
same question gives the same answer tomorrow. Ranges are half-open ``[start, end)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .lexicon import MONTHS
from .text import Token

__all__ = ["TimeExpr", "find_time_exprs", "resolve_range"]

_UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
          "quarter": "quarter", "quarters": "quarter", "year": "year", "years": "year"}
_PREFIX_POINT = {"in", "during", "for", "of", "on", "at", "throughout", "within"}
_OPEN = {"since": "since", "after": "after", "before": "before", "until": "until", "till": "until",
         "through": "until", "prior": "before", "from": "since", "starting": "since"}
_TIME_PREPS = {"in", "during", "since", "before", "after", "until", "till", "from", "between", "of", "year",
               "through", "and", "to", "vs", "versus"}
_RELATIVE = {"last", "past", "previous", "recent", "preceding"}
_COMPARATOR_WORDS = {"over", "above", "than", "under", "below", "least", "most", "exceeding", "top",
                     "bottom", "exactly", "equal", "equals", ">", "<", ">=", "<=", "="}


@dataclass(frozen=True)
class TimeExpr:
    """A recognized time expression.

    Attributes
    ----------
    kind
        ``"point"`` (a year, quarter, month or day), ``"range"`` (``start`` .. ``end``
        inclusive of the end period), ``"since"``, ``"after"``, ``"before"``, ``"until"``,
        ``"last"`` (the latest ``n`` ``unit`` s), ``"this"``, ``"previous"``,
        ``"month_of_year"`` (a month without a year: every year's March).
    """

    kind: str
    start: int
    end: int
    text: str
    year: int | None = None
    month: int | None = None
    quarter: int | None = None
    day: dt.date | None = None
    unit: str | None = None
    n: int | None = None
    other: TimeExpr | None = None

    @property
    def is_year(self) -> bool:
        return self.kind == "point" and self.year is not None and self.month is None and self.quarter is None \
            and self.day is None


def _year(tok: Token, prev: Token | None) -> int | None:
    if tok.kind != "number" or tok.number is None or not tok.number.is_integer():
        return None
    if not tok.text.isdigit() or len(tok.text) != 4:
        return None
    y = int(tok.number)
    lo = 1000 if prev is not None and prev.low in _TIME_PREPS else 1800
    if not lo <= y <= 2100:
        return None
    if prev is not None and prev.low in _COMPARATOR_WORDS:
        return None
    return y


def _point(tokens: list[Token], i: int) -> tuple[TimeExpr | None, int]:
    """A year / quarter / month / date at ``i``; returns (expr, next index)."""
    tok = tokens[i]
    prev = tokens[i - 1] if i > 0 else None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if tok.kind == "date":
        try:
            day = dt.date.fromisoformat(tok.text)
        except ValueError:
            return None, i
        return TimeExpr("point", i, i + 1, tok.text, day=day), i + 1
    q = None
    if tok.low in ("q1", "q2", "q3", "q4"):
        q = int(tok.low[1])
    if q is not None:
        y = _year(nxt, None) if nxt is not None else None
        end = i + 2 if y else i + 1
        return TimeExpr("point", i, end, " ".join(t.text for t in tokens[i:end]), year=y, quarter=q), end
    if tok.low in MONTHS and (tok.low != "may" or (nxt is not None and _year(nxt, None))
                              or (prev is not None and prev.low in _PREFIX_POINT | set(_OPEN))):
        m = MONTHS[tok.low]
        y = _year(nxt, None) if nxt is not None else None
        end = i + 2 if y else i + 1
        if y is None and nxt is not None and nxt.low == "of" and i + 2 < len(tokens):
            y = _year(tokens[i + 2], None)
            end = i + 3 if y else end
        return TimeExpr("point", i, end, " ".join(t.text for t in tokens[i:end]), year=y, month=m), end
    y = _year(tok, prev)
    if y is not None:
        return TimeExpr("point", i, i + 1, tok.text, year=y), i + 1
    return None, i


def find_time_exprs(tokens: list[Token]) -> list[TimeExpr]:
    """All time expressions of a question, in order, without overlaps."""
    out: list[TimeExpr] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        low = tok.low
        # relative: last 6 months / past year / this month / year to date
        if low in _RELATIVE | {"this", "current"} and i + 1 < n:
            j = i + 1
            count = None
            if tokens[j].kind == "number" and tokens[j].number and tokens[j].number.is_integer() and j + 1 < n:
                count = int(tokens[j].number)
                j += 1
            unit = _UNITS.get(tokens[j].low) if j < n else None
            if unit:
                text = " ".join(t.text for t in tokens[i:j + 1])
                if low in ("this", "current"):
                    out.append(TimeExpr("this", i, j + 1, text, unit=unit))
                elif count is None and low in ("last", "previous", "preceding"):
                    out.append(TimeExpr("previous", i, j + 1, text, unit=unit, n=1))
                else:
                    out.append(TimeExpr("last", i, j + 1, text, unit=unit, n=count or 1))
                i = j + 1
                continue
        if low in ("ytd",) or (low == "year" and i + 2 < n and tokens[i + 1].low == "to"
                               and tokens[i + 2].low == "date"):
            end = i + 1 if low == "ytd" else i + 3
            out.append(TimeExpr("this", i, end, " ".join(t.text for t in tokens[i:end]), unit="year"))
            i = end
            continue
        if tok.kind == "decade":  # "the 1990s"
            y = int(tok.number)
            out.append(TimeExpr("range", i, i + 1, tok.text, year=y, other=TimeExpr("point", i, i + 1, tok.text,
                                                                                     year=y + 9)))
            i += 1
            continue
        # ranges: between A and B / from A to B
        if low in ("between", "from") and i + 1 < n:
            a, j = _point(tokens, i + 1)
            if a is not None and j + 1 < n and tokens[j].low in ("and", "to", "until", "through", "till", "-"):
                b, k = _point(tokens, j + 1)
                if b is not None:
                    if a.year is None and b.year is not None and (a.month or a.quarter):
                        a = TimeExpr(a.kind, a.start, a.end, a.text, b.year, a.month, a.quarter, a.day)
                    out.append(TimeExpr("range", i, k, " ".join(t.text for t in tokens[i:k]), other=b,
                                        year=a.year, month=a.month, quarter=a.quarter, day=a.day))
                    i = k
                    continue
        if low in _OPEN and i + 1 < n:
            a, j = _point(tokens, i + 1)
            if a is not None and (a.year is not None or a.day is not None):
                kind = _OPEN[low]
                if low == "from" and (j >= n or tokens[j].low not in ("onward", "onwards", "on")):
                    kind = "point"  # "change from 2023": the period itself
                    out.append(TimeExpr("point", i, j, " ".join(t.text for t in tokens[i:j]), a.year, a.month,
                                        a.quarter, a.day))
                    i = j
                    continue
                end = j + 1 if j < n and tokens[j].low in ("onward", "onwards", "on") else j
                out.append(TimeExpr(kind, i, end, " ".join(t.text for t in tokens[i:end]), a.year, a.month,
                                    a.quarter, a.day))
                i = end
                continue
        point, j = _point(tokens, i)
        if point is not None:
            if point.year is None and point.day is None:
                point = TimeExpr("month_of_year" if point.month else "point", point.start, point.end, point.text,
                                 None, point.month, point.quarter)
            if point.kind == "point" and point.quarter and point.year is None:
                point = None  # "q1" alone: not supported as every year's quarter
            if point is not None:
                out.append(point)
            i = max(j, i + 1)
            continue
        i += 1
    return out


def _add_months(d: dt.date, months: int) -> dt.date:
    total = d.year * 12 + d.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def _span(e: TimeExpr, latest: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """``[start, end)`` of a point expression."""
    if e.day is not None:
        return e.day, e.day + dt.timedelta(days=1)
    year = e.year if e.year is not None else (latest.year if latest else None)
    if year is None:
        return None
    if e.quarter:
        start = dt.date(year, 3 * (e.quarter - 1) + 1, 1)
        return start, _add_months(start, 3)
    if e.month:
        start = dt.date(year, e.month, 1)
        return start, _add_months(start, 1)
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def resolve_range(e: TimeExpr, latest: dt.date | None) -> tuple[dt.date | None, dt.date | None, str]:
    """``(start, end, explanation)`` for an expression; ``latest`` is the newest date in the data.

    Raises
    ------
    ValueError
        For a relative expression when the data's latest date is unknown.
    """
    if e.kind in ("last", "this", "previous"):
        if latest is None:
            raise ValueError(f"'{e.text}' needs the latest date of the data, which is unknown")
        unit, n = e.unit or "month", e.n or 1
        if unit == "day":
            end = latest + dt.timedelta(days=1)
            start = end - dt.timedelta(days=n) if e.kind == "last" else (latest if e.kind == "this" else latest - dt.timedelta(days=1))
            if e.kind == "previous":
                end = latest
        elif unit == "week":
            monday = latest - dt.timedelta(days=latest.weekday())
            if e.kind == "last":
                start, end = latest + dt.timedelta(days=1) - dt.timedelta(weeks=n), latest + dt.timedelta(days=1)
            elif e.kind == "this":
                start, end = monday, latest + dt.timedelta(days=1)
            else:
                start, end = monday - dt.timedelta(weeks=1), monday
        else:
            months = {"month": 1, "quarter": 3, "year": 12}[unit]
            if unit == "year":
                current = dt.date(latest.year, 1, 1)
            elif unit == "quarter":
                current = dt.date(latest.year, 3 * ((latest.month - 1) // 3) + 1, 1)
            else:
                current = dt.date(latest.year, latest.month, 1)
            if e.kind == "this":
                start, end = current, latest + dt.timedelta(days=1)
            elif e.kind == "previous":
                start, end = _add_months(current, -months), current
            else:
                start, end = _add_months(current, -months * (n - 1)), latest + dt.timedelta(days=1)
        why = f"'{e.text}' = {start.isoformat()} .. {(end - dt.timedelta(days=1)).isoformat()} " \
              f"(relative to the latest date in the data, {latest.isoformat()})"
        return start, end, why
    if e.kind == "range":
        a, b = _span(e, latest), _span(e.other, latest) if e.other else None
        if a is None or b is None:
            raise ValueError(f"'{e.text}' has no year")
        return a[0], b[1], f"'{e.text}' = {a[0].isoformat()} .. {(b[1] - dt.timedelta(days=1)).isoformat()}"
    span = _span(e, latest)
    if span is None:
        raise ValueError(f"'{e.text}' has no year")
    start, end = span
    if e.kind in ("since",):
        return start, None, f"'{e.text}' = from {start.isoformat()}"
    if e.kind == "after":
        return end, None, f"'{e.text}' = from {end.isoformat()}"
    if e.kind == "before":
        return None, start, f"'{e.text}' = before {start.isoformat()}"
    if e.kind == "until":
        return None, end, f"'{e.text}' = up to {(end - dt.timedelta(days=1)).isoformat()}"
    return start, end, f"'{e.text}' = {start.isoformat()} .. {(end - dt.timedelta(days=1)).isoformat()}"
