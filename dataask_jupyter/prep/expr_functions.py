"""The function allow-list of the calculated-field language, and the helpers it shares.

Each function checks its argument types and returns a :class:`Compiled` (ibis value plus
the equivalent ibis Python code). Dialect gaps are handled here, once: TRIM without
control characters, case-sensitive text matching on SQLite and MySQL, date differences
built from day deltas and calendar parts so every dialect agrees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from .errors import FlowError
from .expr_parse import Call, Lit, Node
from .steps import ibis_type_name

NO_TRY_CAST = frozenset({"sqlite"})  # dialects where ibis has no TRY_CAST


# ibis's strip() writes the whitespace set (with \v and \f) into the SQL, which the read-only
# guard refuses as control characters; every target database has TRIM/LTRIM/RTRIM (spaces).
@ibis.udf.scalar.builtin(name="trim")
def sql_trim(value: str) -> str:  # pragma: no cover - compiled to SQL, never called
    """SQL TRIM(value): remove leading and trailing spaces."""


@ibis.udf.scalar.builtin(name="ltrim")
def sql_ltrim(value: str) -> str:  # pragma: no cover
    """SQL LTRIM(value)."""


@ibis.udf.scalar.builtin(name="rtrim")
def sql_rtrim(value: str) -> str:  # pragma: no cover
    """SQL RTRIM(value)."""


def text_match(x: ir.StringValue, op: str, needle: ir.StringValue, dialect: str) -> ir.BooleanValue:
    """Case-sensitive ``contains`` / ``startswith`` / ``endswith`` on every dialect.

    SQLite's LIKE (ibis's startswith/endswith there) ignores case, and MySQL/MariaDB's
    LOCATE follows the column collation (usually case-insensitive); REPLACE and substring
    equality are case-sensitive in both.
    """
    if dialect == "sqlite" and op in ("startswith", "endswith"):
        n = needle.length()
        return (x.substr(0, n) if op == "startswith" else x.right(n)) == needle
    if dialect == "mysql" and op == "contains":
        return (needle.length() == 0) | (x.replace(needle, "").length() < x.length())
    return getattr(x, op)(needle)


def in_list(x: ir.Value, items: Sequence[ir.Value], negated: bool, dialect: str) -> ir.BooleanValue:
    """``x IN (...)``; on MySQL/MariaDB text compares with case-sensitive ``=`` (IN follows the collation)."""
    if dialect == "mysql" and kind_of(x) == "text" and len(items) <= 100:
        if negated:
            out = x != items[0]
            for item in items[1:]:
                out = out & (x != item)
        else:
            out = x == items[0]
            for item in items[1:]:
                out = out | (x == item)
        return out
    return x.notin(list(items)) if negated else x.isin(list(items))


_TRIMS = {"trim": (sql_trim, "strip"), "ltrim": (sql_ltrim, "lstrip"), "rtrim": (sql_rtrim, "rstrip")}


@dataclass(frozen=True)
class Compiled:
    """One compiled sub-expression: the ibis value, equivalent Python code, a label for messages."""

    value: ir.Value
    code: str
    label: str


@dataclass
class ExprContext:
    table: ir.Table
    dialect: str
    text: str
    table_var: str = "t"


def kind_of(value: ir.Value) -> str:
    """User-facing type word: number, text, date, timestamp, boolean, null or the ibis name."""
    t = value.type()
    if t.is_null():
        return "null"
    if t.is_boolean():
        return "boolean"
    if t.is_numeric():
        return "number"
    if t.is_string():
        return "text"
    if t.is_date():
        return "date"
    if t.is_timestamp():
        return "timestamp"
    return str(t).lstrip("!")


def _err(ctx: ExprContext, node: Node, message: str, hint: str | None = None) -> FlowError:
    snippet = ctx.text if len(ctx.text) <= 60 else ctx.text[max(0, node.pos - 25): node.pos + 25]
    return FlowError(f"{message} (at position {node.pos + 1} of the expression)", hint=hint or f"Expression: {snippet}")


def _need(ctx: ExprContext, node: Node, arg: Compiled, kinds: Sequence[str], what: str) -> None:
    k = kind_of(arg.value)
    if k not in kinds and k != "null":
        raise _err(ctx, node, f"{what} needs {' or '.join(kinds)}; {arg.label} is {k}")


def _compatible(a: str, b: str) -> bool:
    temporal = ("date", "timestamp")
    return a == b or "null" in (a, b) or (a in temporal and b in temporal)


def _literal_text(ctx: ExprContext, node: Node, what: str, allowed: Sequence[str] | None = None) -> str:
    if not isinstance(node, Lit) or not isinstance(node.value, str):
        raise _err(ctx, node, f"{what} must be a quoted text such as 'month'")
    value = node.value.strip().lower()
    if allowed is not None and value not in allowed:
        raise _err(ctx, node, f"{what} must be one of: {', '.join(allowed)}; got '{node.value}'")
    return value


def _date_literal(ctx: ExprContext, node: Node, text: str, kind: str) -> Compiled:
    try:
        if kind == "date":
            return Compiled(ibis.date(dt.date.fromisoformat(text.strip())), f"ibis.date({text.strip()!r})", repr(text))
        ts = dt.datetime.fromisoformat(text.strip())
        return Compiled(ibis.timestamp(ts), f"ibis.timestamp({text.strip()!r})", repr(text))
    except ValueError:
        raise _err(ctx, node, f"'{text}' is not a {kind} (write it as YYYY-MM-DD)") from None


def _coerce_pair(ctx: ExprContext, nodes: tuple[Node, Node], a: Compiled, b: Compiled) -> tuple[Compiled, Compiled]:
    """Turn a text literal compared with a date/timestamp into a date/timestamp literal."""
    ka, kb = kind_of(a.value), kind_of(b.value)
    if ka in ("date", "timestamp") and kb == "text" and isinstance(nodes[1], Lit):
        b = _date_literal(ctx, nodes[1], nodes[1].value, ka)
    elif kb in ("date", "timestamp") and ka == "text" and isinstance(nodes[0], Lit):
        a = _date_literal(ctx, nodes[0], nodes[0].value, kb)
    return a, b


def _cast(ctx: ExprContext, arg: Compiled, type_name: str, *, safe: bool = True) -> Compiled:
    target = ibis_type_name(type_name)
    if kind_of(arg.value) == "null":
        return Compiled(ibis.null(target), f"ibis.null({target!r})", arg.label)
    method = "try_cast" if safe and target != "string" and ctx.dialect not in NO_TRY_CAST else "cast"
    return Compiled(getattr(arg.value, method)(target), f"{arg.code}.{method}({target!r})", arg.label)


# -- function registry --------------------------------------------------------------------------
@dataclass(frozen=True)
class Function:
    name: str
    signature: str
    doc: str
    category: str
    min_args: int
    max_args: int | None
    build: Callable[[ExprContext, Call, list[Compiled]], Compiled]


FUNCTIONS: dict[str, Function] = {}


def _fn(names: str, signature: str, doc: str, category: str, min_args: int, max_args: int | None = -1):
    def register(build):
        for name in names.split():
            FUNCTIONS[name] = Function(name, signature, doc, category, min_args,
                                       min_args if max_args == -1 else max_args, build)
        return build
    return register


def _method(ctx, call, args, method: str, kinds: Sequence[str]) -> Compiled:
    _need(ctx, call.args[0], args[0], kinds, f"{call.name}()")
    value = getattr(args[0].value, method)(*(a.value for a in args[1:]))
    code_args = ", ".join(a.code for a in args[1:])
    return Compiled(value, f"{args[0].code}.{method}({code_args})", f"{call.name}(...)")


_NUM, _TEXT, _TEMPORAL = ("number",), ("text",), ("date", "timestamp")

for _names, _method_name, _kinds, _doc, _cat in (
    ("abs", "abs", _NUM, "Absolute value", "number"), ("floor", "floor", _NUM, "Round down", "number"),
    ("ceil ceiling", "ceil", _NUM, "Round up", "number"), ("sqrt", "sqrt", _NUM, "Square root", "number"),
    ("upper", "upper", _TEXT, "Text in upper case", "text"), ("lower", "lower", _TEXT, "Text in lower case", "text"),
    ("length len", "length", _TEXT, "Number of characters", "text"),
    ("year", "year", _TEMPORAL, "Year of a date", "date"), ("quarter", "quarter", _TEMPORAL, "Quarter (1-4)", "date"),
    ("month", "month", _TEMPORAL, "Month (1-12)", "date"), ("day", "day", _TEMPORAL, "Day of the month", "date"),
    ("hour", "hour", ("timestamp",), "Hour of a timestamp", "date"),
    ("minute", "minute", ("timestamp",), "Minute of a timestamp", "date"),
):
    _fn(_names, f"{_names.split()[0]}(x)", _doc, _cat, 1)(
        lambda ctx, call, args, m=_method_name, k=_kinds: _method(ctx, call, args, m, k))


@_fn("trim ltrim rtrim", "trim(text)", "Remove spaces at both ends (ltrim: at the start, rtrim: at the end)",
     "text", 1)
def _trim(ctx, call, args):
    _need(ctx, call.args[0], args[0], _TEXT, f"{call.name}()")
    fn, method = _TRIMS[call.name]
    return Compiled(fn(args[0].value), f"{args[0].code}.{method}()", f"{call.name}(...)")


@_fn("round", "round(x, [digits])", "Round to digits after the point (default 0)", "number", 1, 2)
def _round(ctx, call, args):
    _need(ctx, call.args[0], args[0], _NUM, "round()")
    if len(args) == 2 and not (isinstance(call.args[1], Lit) and isinstance(call.args[1].value, int)):
        raise _err(ctx, call.args[1], "round() takes a whole number of digits, such as round(x, 2)")
    digits = call.args[1].value if len(args) == 2 else 0
    return Compiled(args[0].value.round(digits), f"{args[0].code}.round({digits})", "round(...)")


@_fn("power pow", "power(x, y)", "x to the power y", "number", 2)
def _power(ctx, call, args):
    for n, a in zip(call.args, args, strict=True):
        _need(ctx, n, a, _NUM, "power()")
    return Compiled(args[0].value ** args[1].value, f"({args[0].code} ** {args[1].code})", "power(...)")


@_fn("mod", "mod(x, y)", "Remainder of x / y", "number", 2)
def _mod(ctx, call, args):
    for n, a in zip(call.args, args, strict=True):
        _need(ctx, n, a, _NUM, "mod()")
    return Compiled(args[0].value % args[1].value, f"({args[0].code} % {args[1].code})", "mod(...)")


@_fn("greatest least", "greatest(x, y, ...)", "Largest (or smallest, least) of the values", "number", 2, None)
def _greatest(ctx, call, args):
    kinds = {kind_of(a.value) for a in args} - {"null"}
    if len(kinds) > 1 and not kinds <= {"date", "timestamp"}:
        raise _err(ctx, call, f"{call.name}() needs values of one type; got {', '.join(sorted(kinds))}")
    fn = getattr(ibis, call.name)
    return Compiled(fn(*(a.value for a in args)), f"ibis.{call.name}({', '.join(a.code for a in args)})", f"{call.name}(...)")


def _as_text(a: Compiled) -> Compiled:
    if kind_of(a.value) == "text":
        return a
    return Compiled(a.value.cast("string"), f"{a.code}.cast('string')", a.label)


@_fn("concat", "concat(a, b, ...)", "Join texts (other values are converted to text)", "text", 1, None)
def _concat(ctx, call, args):
    parts = [_as_text(a) for a in args]
    if len(parts) == 1:
        return parts[0]
    value = parts[0].value.concat(*(p.value for p in parts[1:]))
    return Compiled(value, f"{parts[0].code}.concat({', '.join(p.code for p in parts[1:])})", "concat(...)")


@_fn("substring substr mid", "substring(text, start, [length])", "Part of a text; start counts from 1", "text", 2, 3)
def _substring(ctx, call, args):
    _need(ctx, call.args[0], args[0], _TEXT, "substring()")
    for n, a in zip(call.args[1:], args[1:], strict=True):
        _need(ctx, n, a, _NUM, "substring()")
    if isinstance(call.args[1], Lit) and isinstance(call.args[1].value, int):
        start, start_code = call.args[1].value - 1, str(call.args[1].value - 1)
    else:
        start, start_code = args[1].value - 1, f"({args[1].code} - 1)"
    length = args[2].value if len(args) == 3 else None
    code = f"{args[0].code}.substr({start_code}{', ' + args[2].code if len(args) == 3 else ''})"
    return Compiled(args[0].value.substr(start, length), code, "substring(...)")


@_fn("left right", "left(text, n)", "First (left) or last (right) n characters", "text", 2)
def _left(ctx, call, args):
    _need(ctx, call.args[0], args[0], _TEXT, f"{call.name}()")
    _need(ctx, call.args[1], args[1], _NUM, f"{call.name}()")
    return _method(ctx, call, args, call.name, _TEXT)


@_fn("replace", "replace(text, old, new)", "Replace every occurrence of old by new", "text", 3)
def _replace(ctx, call, args):
    for n, a in zip(call.args, args, strict=True):
        _need(ctx, n, a, _TEXT, "replace()")
    return _method(ctx, call, args, "replace", _TEXT)


@_fn("contains starts_with startswith ends_with endswith", "contains(text, part)",
     "True if the text contains (starts_with, ends_with) part", "text", 2)
def _contains(ctx, call, args):
    for n, a in zip(call.args, args, strict=True):
        _need(ctx, n, a, _TEXT, f"{call.name}()")
    method = {"starts_with": "startswith", "ends_with": "endswith"}.get(call.name, call.name)
    value = text_match(args[0].value, method, args[1].value, ctx.dialect)
    return Compiled(value, f"{args[0].code}.{method}({args[1].code})", f"{call.name}(...)")


_TRUNC_UNITS = {"year": "Y", "quarter": "Q", "month": "M", "week": "W", "day": "D", "hour": "h", "minute": "m",
                "second": "s"}
_DIFF_UNITS = ("day", "week", "month", "quarter", "year", "hour", "minute", "second")


@_fn("date_trunc", "date_trunc('month', date)", "Start of the year/quarter/month/week/day (or hour...)", "date", 2)
def _date_trunc(ctx, call, args):
    unit = _literal_text(ctx, call.args[0], "The unit of date_trunc", list(_TRUNC_UNITS))
    _need(ctx, call.args[1], args[1], _TEMPORAL, "date_trunc()")
    if kind_of(args[1].value) == "date" and unit in ("hour", "minute", "second"):
        raise _err(ctx, call.args[0], f"A date has no {unit}; use day or longer")
    code = _TRUNC_UNITS[unit]
    return Compiled(args[1].value.truncate(code), f"{args[1].code}.truncate({code!r})", "date_trunc(...)")


@_fn("date_diff datediff", "date_diff('day', start, end)",
     "end - start in days, whole weeks, calendar months/quarters/years crossed, or hours/minutes/seconds",
     "date", 3)
def _date_diff(ctx, call, args):
    unit = _literal_text(ctx, call.args[0], "The unit of date_diff", _DIFF_UNITS)
    start, end = args[1], args[2]
    for n, a in ((call.args[1], start), (call.args[2], end)):
        _need(ctx, n, a, _TEMPORAL, "date_diff()")
    if unit in ("hour", "minute", "second"):
        if "date" in (kind_of(start.value), kind_of(end.value)):
            raise _err(ctx, call.args[0], f"Dates have no {unit}s; use timestamps or a day-or-longer unit")
        per = {"hour": 3600, "minute": 60, "second": 1}[unit]
        value = (end.value.epoch_seconds() - start.value.epoch_seconds()) // per
        return Compiled(value, f"(({end.code}.epoch_seconds() - {start.code}.epoch_seconds()) // {per})", "date_diff(...)")
    s, e = (x if kind_of(x.value) == "date" else Compiled(x.value.date(), f"{x.code}.date()", x.label) for x in (start, end))
    if unit in ("day", "week"):
        value, code = e.value.delta(s.value, unit="day"), f"{e.code}.delta({s.code}, unit='day')"
        if unit == "week":
            value, code = value // 7, f"({code} // 7)"
        return Compiled(value, code, "date_diff(...)")
    months = {"year": None, "quarter": 3, "month": 1}[unit]
    if months is None:
        return Compiled(e.value.year() - s.value.year(), f"({e.code}.year() - {s.code}.year())", "date_diff(...)")
    if unit == "month":
        value = (e.value.year() * 12 + e.value.month()) - (s.value.year() * 12 + s.value.month())
        return Compiled(value, f"(({e.code}.year() * 12 + {e.code}.month()) - ({s.code}.year() * 12 + {s.code}.month()))",
                        "date_diff(...)")
    value = (e.value.year() * 4 + e.value.quarter()) - (s.value.year() * 4 + s.value.quarter())
    return Compiled(value, f"(({e.code}.year() * 4 + {e.code}.quarter()) - ({s.code}.year() * 4 + {s.code}.quarter()))",
                    "date_diff(...)")


@_fn("today", "today()", "Today's date", "date", 0)
def _today(ctx, call, args):
    return Compiled(ibis.today(), "ibis.today()", "today()")


@_fn("now", "now()", "The current timestamp", "date", 0)
def _now(ctx, call, args):
    return Compiled(ibis.now(), "ibis.now()", "now()")


@_fn("if iif", "if(condition, then, else)", "then when the condition holds, else otherwise", "logic", 3)
def _if(ctx, call, args):
    _need(ctx, call.args[0], args[0], ("boolean",), "The condition of if()")
    _same_type(ctx, call, args[1:])
    value = ibis.ifelse(args[0].value, args[1].value, args[2].value)
    return Compiled(value, f"ibis.ifelse({args[0].code}, {args[1].code}, {args[2].code})", "if(...)")


def _same_type(ctx: ExprContext, node: Node, args: Sequence[Compiled]) -> None:
    kinds = [kind_of(a.value) for a in args]
    for k in kinds[1:]:
        if not _compatible(kinds[0], k):
            raise _err(ctx, node, f"The results must have one type; got {kinds[0]} and {k}",
                       hint="Convert with text(x), float(x) or date(x).")


@_fn("coalesce ifnull", "coalesce(a, b, ...)", "The first value that is not null", "logic", 2, None)
def _coalesce(ctx, call, args):
    _same_type(ctx, call, args)
    return Compiled(ibis.coalesce(*(a.value for a in args)), f"ibis.coalesce({', '.join(a.code for a in args)})",
                    "coalesce(...)")


@_fn("nullif", "nullif(a, b)", "null when a equals b, else a", "logic", 2)
def _nullif(ctx, call, args):
    _same_type(ctx, call, args)
    return Compiled(args[0].value.nullif(args[1].value), f"{args[0].code}.nullif({args[1].code})", "nullif(...)")


@_fn("is_null isnull", "is_null(x)", "True when x is null", "logic", 1)
def _is_null(ctx, call, args):
    return Compiled(args[0].value.isnull(), f"{args[0].code}.isnull()", "is_null(...)")


@_fn("cast", "cast(x, 'type')", "Convert to int, float, decimal(p, s), text, date, timestamp or boolean; "
     "values that do not convert become null", "convert", 2)
def _cast_fn(ctx, call, args):
    name = _literal_text(ctx, call.args[1], "The type of cast()")
    try:
        ibis_type_name(name)
    except ValueError as exc:
        raise _err(ctx, call.args[1], str(exc)) from None
    return _convert(ctx, call, args[0], name)


for _name, _type in (("int", "int"), ("integer", "int"), ("float", "float"), ("number", "float"), ("text", "string"),
                     ("string", "string"), ("boolean", "boolean"), ("date", "date"), ("timestamp", "timestamp"),
                     ("datetime", "timestamp")):
    _fn(_name, f"{_name}(x)", f"Convert to {_type} (null when it does not convert)", "convert", 1)(
        lambda ctx, call, args, t=_type: _convert(ctx, call, args[0], t))


def _convert(ctx: ExprContext, call: Call, arg: Compiled, type_name: str) -> Compiled:
    target = ibis_type_name(type_name)
    node = call.args[0]
    if target in ("date", "timestamp") and isinstance(node, Lit) and isinstance(node.value, str):
        return _date_literal(ctx, node, node.value, target)
    kind = kind_of(arg.value)
    if target == "date" and kind == "timestamp":
        return Compiled(arg.value.date(), f"{arg.code}.date()", arg.label)
    if target == "date" and kind == "date" or target == "string" and kind == "text":
        return arg
    if kind in ("date", "timestamp") and target not in ("date", "timestamp", "string"):
        raise _err(ctx, node, f"Cannot convert {arg.label} ({kind}) to {type_name}; use year(), date_diff() ...")
    return _cast(ctx, arg, type_name)
