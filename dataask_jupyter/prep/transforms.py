"""One ibis transformation per step type (plus the equivalent Python code line).

Every function takes the step's input table and the validated step model and returns
``(table, code)``; problems raise :class:`FlowError` (the compiler adds the step id).
Dialect gaps are handled here, once: MEDIAN on SQLite/MySQL is computed with window
functions, unpivot is a UNION ALL (no arrays needed), pivot uses filtered aggregates.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from ..errors import did_you_mean
from .errors import FlowError
from .expressions import NO_TRY_CAST, compile_expression, in_list, kind_of, text_match
from .steps import ibis_type_name

NO_MEDIAN = frozenset({"sqlite", "mysql"})  # dialects where ibis has no MEDIAN
HELPER = "__dataask_"  # prefix of helper columns (never left in a result)


def col(t: ir.Table, name: str, field: str) -> ir.Column:
    """``t[name]`` or a FlowError naming the field, with did-you-mean and the columns."""
    if name not in t.columns:
        cols = list(t.columns)
        raise FlowError(f"{field}: unknown column '{name}'.{did_you_mean(name, cols)}",
                        hint=f"Columns: {', '.join(cols[:40])}{' ...' if len(cols) > 40 else ''}", field=field)
    return t[name]


def q(name: str) -> str:
    return repr(name)


def literal_for(column: ir.Value, value: Any, field: str) -> ir.Value:
    """``value`` (JSON) as an ibis literal matching ``column``'s type, or a FlowError."""
    kind = kind_of(column)
    label = f"{field}: {value!r}"
    if value is None:
        return ibis.null(column.type())
    if kind == "number":
        if isinstance(value, bool):
            raise FlowError(f"{label} is true/false but the column is a number.", field=field)
        if isinstance(value, int | float | decimal.Decimal):
            return ibis.literal(value)
        try:
            text = str(value).strip()
            return ibis.literal(int(text) if text.lstrip("+-").isdigit() else float(text))
        except ValueError:
            raise FlowError(f"{label} is not a number, but the column is numeric.", field=field) from None
    if kind == "text":
        return ibis.literal(value if isinstance(value, str) else str(value), "string")
    if kind in ("date", "timestamp"):
        try:
            if kind == "date":
                d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip()[:10])
                return ibis.date(d)
            ts = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).strip())
            return ibis.timestamp(ts)
        except ValueError:
            raise FlowError(f"{label} is not a {kind} (write YYYY-MM-DD).", field=field) from None
    if kind == "boolean":
        truth = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
        if isinstance(value, bool):
            return ibis.literal(value)
        if str(value).strip().lower() in truth:
            return ibis.literal(truth[str(value).strip().lower()])
        raise FlowError(f"{label} is not true or false.", field=field)
    return ibis.literal(value).cast(column.type())


def lit_code(value: Any, column: ir.Value) -> str:
    kind = kind_of(column)
    if value is None:
        return f"ibis.null({str(column.type()).lstrip('!')!r})"
    if kind in ("date", "timestamp"):
        return f"ibis.{kind}({str(value)!r})"
    return repr(value)


# -- source and join ------------------------------------------------------------------------
def source(table: ir.Table, step, var: str) -> tuple[ir.Table, str]:
    return table, f"t = {var}.table({step.table!r})"


def join(left: ir.Table, right: ir.Table, step, right_var: str) -> tuple[ir.Table, str]:
    right = right.view()
    preds, codes = [], []
    for i, (lk, rk) in enumerate(step.on):
        lc = col(left, lk, f"on[{i}] (left)")
        rc = col(right, rk, f"on[{i}] (right)")
        kl, kr = kind_of(lc), kind_of(rc)
        temporal = ("date", "timestamp")
        if kl != kr and not (kl in temporal and kr in temporal):
            raise FlowError(f"on[{i}]: cannot join '{lk}' ({kl}) with '{rk}' ({kr}): the types differ.",
                            hint="Add a change_type (or calculate) step so both keys have one type.", field=f"on[{i}]")
        preds.append(lc == rc)
        codes.append(f"t[{q(lk)}] == r[{q(rk)}]")
    how = {"full": "outer"}.get(step.how, step.how)
    rname = "{name}" + step.suffix
    joined = left.join(right, preds, how=how, rname=rname)
    code = f"r = {right_var}.table({step.right.table!r})\nt = t.join(r, [{', '.join(codes)}], how={how!r}, rname={rname!r})"
    return joined, code


# -- filter ---------------------------------------------------------------------------------
def predicate(t: ir.Table, group, dialect: str, field: str = "conditions") -> tuple[ir.BooleanValue, str]:
    """The boolean expression of a condition group (nested groups recurse)."""
    parts: list[tuple[ir.BooleanValue, str]] = []
    for i, cond in enumerate(group.conditions):
        f = f"{field}[{i}]"
        parts.append(predicate(t, cond, dialect, f + ".conditions") if hasattr(cond, "conditions")
                     else condition(t, cond, dialect, f))
    value, code = parts[0]
    for v, c in parts[1:]:
        value = value & v if group.combine == "and" else value | v
        code = f"{code} {'&' if group.combine == 'and' else '|'} {c}"
    return value, (f"({code})" if len(parts) > 1 else code)


def condition(t: ir.Table, cond, dialect: str, field: str) -> tuple[ir.BooleanValue, str]:
    c = col(t, cond.column, f"{field}.column")
    op, v, kind = cond.op, cond.value, kind_of(c)
    cc = f"t[{q(cond.column)}]"
    if op == "is null":
        return c.isnull(), f"{cc}.isnull()"
    if op == "is not null":
        return c.notnull(), f"{cc}.notnull()"
    fold = not cond.case_sensitive and kind == "text"
    if fold:
        c, cc = c.lower(), f"{cc}.lower()"

    def rhs(value: Any, sub: str) -> tuple[ir.Value, str]:
        if isinstance(value, dict):
            other = col(t, value["column"], f"{sub}.column")
            if kind_of(other) != kind and {kind, kind_of(other)} != {"date", "timestamp"}:
                raise FlowError(f"{sub}: cannot compare '{cond.column}' ({kind}) with '{value['column']}' "
                                f"({kind_of(other)}).", field=sub)
            return (other.lower(), f"t[{q(value['column'])}].lower()") if fold else (other, f"t[{q(value['column'])}]")
        lit = literal_for(t[cond.column], value, sub)
        code = lit_code(value, t[cond.column])
        if fold and isinstance(value, str):
            return ibis.literal(value.lower()), repr(value.lower())
        return lit, code

    if op in ("contains", "starts with", "ends with"):
        if kind != "text":
            raise FlowError(f"{field}: '{op}' works on text; '{cond.column}' is {kind}.",
                            hint="Use =, <, > or between for numbers and dates.", field=f"{field}.op")
        r, rc = rhs(v, f"{field}.value")
        method = {"contains": "contains", "starts with": "startswith", "ends with": "endswith"}[op]
        return text_match(c, method, r, dialect), f"{cc}.{method}({rc})"
    if op in ("in", "not in"):
        items = [rhs(x, f"{field}.value[{i}]") for i, x in enumerate(v)]
        method = "isin" if op == "in" else "notin"
        return (in_list(c, [x for x, _ in items], op == "not in", dialect),
                f"{cc}.{method}([{', '.join(x for _, x in items)}])")
    if op == "between":
        (lo, lo_c), (hi, hi_c) = rhs(v[0], f"{field}.value[0]"), rhs(v[1], f"{field}.value[1]")
        return c.between(lo, hi), f"{cc}.between({lo_c}, {hi_c})"
    r, rc = rhs(v, f"{field}.value")
    pyop = {"=": "==", "!=": "!="}.get(op, op)
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
    return ops[op](c, r), f"({cc} {pyop} {rc})"


def filter_(t: ir.Table, step, dialect: str) -> tuple[ir.Table, str]:
    pred, code = predicate(t, step, dialect)
    return t.filter(pred), f"t = t.filter({code})"


# -- columns --------------------------------------------------------------------------------
def select(t: ir.Table, step) -> tuple[ir.Table, str]:
    for i, name in enumerate(step.columns):
        col(t, name, f"columns[{i}]")
    return t.select(*step.columns), f"t = t.select({', '.join(map(q, step.columns))})"


def hide(t: ir.Table, step) -> tuple[ir.Table, str]:
    for i, name in enumerate(step.columns):
        col(t, name, f"columns[{i}]")
    if set(step.columns) >= set(t.columns):
        raise FlowError("columns: hiding every column leaves nothing; keep at least one.", field="columns")
    return t.drop(*step.columns), f"t = t.drop({', '.join(map(q, step.columns))})"


def rename(t: ir.Table, step) -> tuple[ir.Table, str]:
    for old in step.columns:
        col(t, old, f"columns.{old}")
    kept = set(t.columns) - set(step.columns)
    for old, new in step.columns.items():
        if new in kept:
            raise FlowError(f"columns.{old}: a column named '{new}' already exists.", field=f"columns.{old}")
    mapping = {new: old for old, new in step.columns.items()}
    return t.rename(mapping), f"t = t.rename({mapping!r})"


def calculate(t: ir.Table, step, dialect: str) -> tuple[ir.Table, str]:
    try:
        compiled = compile_expression(step.expression, t, dialect=dialect)
    except FlowError as exc:
        exc.field = exc.field or "expression"
        raise
    return t.mutate(**{step.name: compiled.value}), f"t = t.mutate(**{{{step.name!r}: {compiled.code}}})"


# -- aggregate, pivot, unpivot ---------------------------------------------------------------
_NEEDS_NUMBER = ("sum", "avg", "median")


def measure(t: ir.Table, function: str, column: str | None, field: str, where: ir.BooleanValue | None = None):
    """The ibis reduction for one measure (median excluded on dialects without it)."""
    if column is None:
        return t.count(where=where) if where is not None else t.count()
    c = col(t, column, field)
    kind = kind_of(c)
    if function in _NEEDS_NUMBER and kind not in ("number", "boolean"):
        raise FlowError(f"{field}: {function} needs a number column; '{column}' is {kind}.",
                        hint="Use count, count_distinct, min or max, or change the column's type first.", field=field)
    method = {"count": "count", "count_distinct": "nunique", "sum": "sum", "avg": "mean", "min": "min",
              "max": "max", "median": "median"}[function]
    if kind == "boolean" and function in ("sum", "avg"):
        c = c.cast("int64")
    return getattr(c, method)(where=where) if where is not None else getattr(c, method)()


def aggregate(t: ir.Table, step, dialect: str) -> tuple[ir.Table, str]:
    for i, k in enumerate(step.group_by):
        col(t, k, f"group_by[{i}]")
    metrics, medians, codes = {}, [], []
    for i, m in enumerate(step.measures):
        field = f"measures[{i}].column"
        value = measure(t, m.function, m.column, field)
        if m.function == "median" and dialect in NO_MEDIAN:
            medians.append((m.column, m.output_name))
        else:
            metrics[m.output_name] = value
        method = {"count_distinct": "nunique", "avg": "mean"}.get(m.function, m.function)
        codes.append(f"{m.output_name!r}: " + ("t.count()" if m.column is None else f"t[{q(m.column)}].{method}()"))
    keys = list(step.group_by)
    if metrics or not medians:
        out = t.group_by(keys).aggregate(**metrics) if keys and metrics else (
            t.aggregate(**metrics) if metrics else t.select(*keys).distinct())
    else:
        out = None
    for column, name in medians:
        med = median_by_windows(t, keys, column, name)
        if out is None:
            out = med
        elif keys:
            out = out.left_join(med, [out[k].identical_to(med[k]) for k in keys]).select(*out.columns, name)
        else:
            out = out.cross_join(med)
    if out is not None and (medians and metrics):
        out = out.select(*keys, *(m.output_name for m in step.measures))
    by = f"[{', '.join(map(q, keys))}]"
    code = f"t = t.group_by({by}).aggregate(**{{{', '.join(codes)}}})" if keys else (
        f"t = t.aggregate(**{{{', '.join(codes)}}})" if codes else f"t = t.select({by[1:-1]}).distinct()")
    return out, code


def median_by_windows(t: ir.Table, keys: Sequence[str], column: str, name: str) -> ir.Table:
    """MEDIAN of ``column`` per ``keys`` with ROW_NUMBER/COUNT windows (SQLite, MySQL, MariaDB)."""
    base = t.filter(t[column].notnull())
    rn, n, v = HELPER + "rn", HELPER + "n", HELPER + "v"
    ranked = base.select(
        *keys, **{v: base[column], rn: ibis.row_number().over(group_by=[base[k] for k in keys], order_by=base[column]),
                  n: base[column].count().over(group_by=[base[k] for k in keys])})
    mid = ranked.filter((ranked[rn] >= (ranked[n] - 1) // 2) & (ranked[rn] <= ranked[n] // 2))
    value = mid[v].mean()
    return mid.group_by(list(keys)).aggregate(**{name: value}) if keys else mid.aggregate(**{name: value})


def pivot(t: ir.Table, step, values: Sequence[Any]) -> tuple[ir.Table, str]:
    for i, k in enumerate(step.index):
        col(t, k, f"index[{i}]")
    names = col(t, step.columns, "columns")
    metrics, codes, used = {}, [], set(step.index)
    for v in values:
        where = names.isnull() if v is None else names == literal_for(names, v, "column_values")
        label = "null" if v is None else str(v)
        if isinstance(v, dt.date):
            label = v.isoformat()
        out = label if label not in used else f"{label}_{step.function}"
        n = 2
        while out in used:
            out, n = f"{label}_{n}", n + 1
        used.add(out)
        metrics[out] = measure(t, step.function, step.values, "values", where=where)
        cond = f"t[{q(step.columns)}].isnull()" if v is None else f"t[{q(step.columns)}] == {lit_code(v, names)}"
        method = {"count_distinct": "nunique", "avg": "mean"}.get(step.function, step.function)
        target = "t" if step.values is None else f"t[{q(step.values)}]"
        codes.append(f"{out!r}: {target}.{method}(where={cond})")
    if not metrics:
        raise FlowError(f"columns: '{step.columns}' has no values to pivot on.", field="columns")
    out_t = t.group_by(list(step.index)).aggregate(**metrics) if step.index else t.aggregate(**metrics)
    by = f"[{', '.join(map(q, step.index))}]"
    agg = f"aggregate(**{{{', '.join(codes)}}})"
    return out_t, (f"t = t.group_by({by}).{agg}" if step.index else f"t = t.{agg}")


def unpivot(t: ir.Table, step) -> tuple[ir.Table, str]:
    for i, name in enumerate(step.columns):
        col(t, name, f"columns[{i}]")
    ids = [c for c in t.columns if c not in step.columns]
    for new in (step.names_to, step.values_to):
        if new in ids:
            raise FlowError(f"'{new}' is already a column; choose other names_to/values_to.", field="names_to")
    types = {t[c].type() for c in step.columns}
    if len(types) == 1:
        target = next(iter(types))
    elif all(ty.is_numeric() for ty in types):
        target = ibis.dtype("float64")
    else:
        target = ibis.dtype("string")
    parts = [t.select(*ids, **{step.names_to: ibis.literal(c), step.values_to: t[c].cast(target)}) for c in step.columns]
    out = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    tname = str(target).lstrip("!")
    code = (f"t = ibis.union(*[t.select(*{ids!r}, **{{{step.names_to!r}: ibis.literal(c), "
            f"{step.values_to!r}: t[c].cast({tname!r})}}) for c in {list(step.columns)!r}], distinct=False)")
    return out, code


# -- rows -----------------------------------------------------------------------------------
def sort(t: ir.Table, step) -> tuple[ir.Table, str]:
    keys, codes = [], []
    for i, k in enumerate(step.by):
        c = col(t, k.column, f"by[{i}].column")
        keys.append(c.desc() if k.descending else c.asc())
        codes.append(f"t[{q(k.column)}].{'desc' if k.descending else 'asc'}()")
    return t.order_by(keys), f"t = t.order_by([{', '.join(codes)}])"


def deduplicate(t: ir.Table, step) -> tuple[ir.Table, str]:
    cols = step.columns or list(t.columns)
    for i, name in enumerate(cols):
        col(t, name, f"columns[{i}]")
    if step.columns is None and step.keep != "none":
        return t.distinct(), "t = t.distinct()"
    part = [t[c] for c in cols]
    n = HELPER + "n"
    if step.keep == "none":
        if step.columns is None:  # whole-row duplicates: keep the rows seen exactly once
            counted = t.group_by(cols).aggregate(**{n: t.count()})
        else:
            counted = t.mutate(**{n: t.count().over(group_by=part)})
        out = counted.filter(counted[n] == 1).drop(n)
        code = (f"t = t.mutate(_n=t.count().over(group_by={cols!r}))\nt = t.filter(t._n == 1).drop('_n')"
                if step.columns else f"t = t.group_by({cols!r}).aggregate(_n=t.count())\nt = t.filter(t._n == 1).drop('_n')")
        return out, code
    order = []
    for i, k in enumerate(step.order_by):
        c = col(t, k.column, f"order_by[{i}].column")
        last = step.keep == "last"
        order.append(c.desc() if k.descending != last else c.asc())
    rn = HELPER + "rn"
    ranked = t.mutate(**{rn: ibis.row_number().over(group_by=part, order_by=order or None)})
    out = ranked.filter(ranked[rn] == 0).drop(rn)
    return out, (f"t = t.mutate(_rn=ibis.row_number().over(group_by={cols!r}, order_by={[k.column for k in step.order_by]!r}))"
                 "\nt = t.filter(t._rn == 0).drop('_rn')")


def fill_nulls(t: ir.Table, step) -> tuple[ir.Table, str]:
    repl, codes = {}, []
    for name, value in step.values.items():
        c = col(t, name, f"values.{name}")
        if value is None:
            raise FlowError(f"values.{name}: give a value to put in place of nulls.", field=f"values.{name}")
        repl[name] = ibis.coalesce(c, literal_for(c, value, f"values.{name}").cast(c.type()))
        codes.append(f"{name!r}: {lit_code(value, c)}")
    return t.mutate(**repl), f"t = t.fill_null({{{', '.join(codes)}}})"


def change_type(t: ir.Table, step, dialect: str) -> tuple[ir.Table, str]:
    changes, codes = {}, []
    for name, type_name in step.columns.items():
        c = col(t, name, f"columns.{name}")
        target = ibis_type_name(type_name)
        safe = step.on_error == "null" and target != "string" and dialect not in NO_TRY_CAST
        method = "try_cast" if safe else "cast"
        kind = kind_of(c)
        if kind in ("date", "timestamp") and target not in ("date", "timestamp", "string"):
            raise FlowError(f"columns.{name}: a {kind} cannot become {type_name}; use a calculated field "
                            "with year(), date_diff() ...", field=f"columns.{name}")
        if kind == "timestamp" and target == "date":
            changes[name], code = c.date(), f"t[{q(name)}].date()"
        else:
            changes[name], code = getattr(c, method)(target), f"t[{q(name)}].{method}({target!r})"
        codes.append(f"{name!r}: {code}")
    return t.mutate(**changes), f"t = t.mutate(**{{{', '.join(codes)}}})"


def limit(t: ir.Table, step) -> tuple[ir.Table, str]:
    return t.limit(step.n), f"t = t.limit({step.n})"
