"""Calculated fields: type-checked compilation of the expression language to ibis.

:func:`compile_expression` parses with :mod:`.expr_parse` (never ``eval``), checks every
column and function against the table and an allow-list, checks operand types, and builds
an ibis value plus the equivalent ibis Python code (for "export as code"). Functions:

* arithmetic: ``+ - * / %``, ``abs round floor ceil sqrt power mod greatest least``
* text: ``upper lower trim ltrim rtrim length concat substring replace contains
  starts_with ends_with left right`` and ``||`` (``+`` also joins two texts)
* dates: ``year quarter month day hour minute date_trunc date_diff today now``
* conditionals: ``if(cond, then, else)``, ``case when ... then ... else ... end``,
  ``coalesce ifnull nullif is_null``, ``x is [not] null``, ``x [not] in (...)``
* casts: ``int float text date timestamp boolean cast(x, 'type')``

:func:`complete` offers columns and functions for a partial expression (autocomplete).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from ..errors import did_you_mean
from .errors import FlowError
from .expr_functions import (  # noqa: F401  (re-exported: used by transforms and suggest)
    FUNCTIONS,
    NO_TRY_CAST,
    Compiled,
    ExprContext,
    Function,
    _coerce_pair,
    _compatible,
    _concat,
    _err,
    _need,
    _same_type,
    in_list,
    kind_of,
    sql_trim,
    text_match,
)
from .expr_parse import Binary, Call, Case, Col, InList, IsNull, Lit, Node, Unary, parse_expression

_NUM = ("number",)

# -- compiling the tree -------------------------------------------------------------------------
_ARITH = ("+", "-", "*", "/", "%")
_COMPARE = ("=", "!=", "<", "<=", ">", ">=")


def _binary(ctx: ExprContext, node: Binary, a: Compiled, b: Compiled) -> Compiled:
    op = node.op
    ka, kb = kind_of(a.value), kind_of(b.value)
    if op in ("and", "or"):
        for n, x in ((node.left, a), (node.right, b)):
            _need(ctx, n, x, ("boolean",), f"'{op}'")
        sym = "&" if op == "and" else "|"
        return Compiled(a.value & b.value if op == "and" else a.value | b.value, f"({a.code} {sym} {b.code})", op)
    if op == "||" or (op == "+" and ka == kb == "text"):
        return _concat(ctx, Call(node.pos, "concat", (node.left, node.right)), [a, b])
    if op in _ARITH:
        for n, x in ((node.left, a), (node.right, b)):
            if kind_of(x.value) != "number":
                hint = "Use concat(a, b) or a || b to join texts." if op == "+" else None
                if kind_of(x.value) in ("date", "timestamp"):
                    hint = "Use date_diff('day', start, end) for the time between dates."
                raise _err(ctx, n, f"'{op}' needs numbers; {x.label} is {kind_of(x.value)}", hint=hint)
        py = {"+": a.value + b.value, "-": a.value - b.value, "*": a.value * b.value, "/": a.value / b.value,
              "%": a.value % b.value}[op]
        return Compiled(py, f"({a.code} {op} {b.code})", f"({a.label} {op} {b.label})")
    if op in _COMPARE:
        if "null" in (ka, kb):
            raise _err(ctx, node, f"Comparing with null is never true; write x is {'not ' if op == '!=' else ''}null")
        a, b = _coerce_pair(ctx, (node.left, node.right), a, b)
        ka, kb = kind_of(a.value), kind_of(b.value)
        if not _compatible(ka, kb):
            raise _err(ctx, node, f"Cannot compare {a.label} ({ka}) with {b.label} ({kb})",
                       hint="Convert one side first, e.g. text(x), float(x) or date(x).")
        pyop = {"=": "==", "!=": "!="}.get(op, op)
        value = {"=": a.value == b.value, "!=": a.value != b.value, "<": a.value < b.value,
                 "<=": a.value <= b.value, ">": a.value > b.value, ">=": a.value >= b.value}[op]
        return Compiled(value, f"({a.code} {pyop} {b.code})", f"({a.label} {op} {b.label})")
    raise _err(ctx, node, f"Unknown operator '{op}'")  # pragma: no cover - the parser has no others


def _compile(ctx: ExprContext, node: Node) -> Compiled:
    if isinstance(node, Lit):
        v = node.value
        if v is None:
            return Compiled(ibis.null(), "ibis.null()", "null")
        return Compiled(ibis.literal(v), f"ibis.literal({v!r})", repr(v))
    if isinstance(node, Col):
        columns = list(ctx.table.columns)
        if node.name not in columns:
            hint = "Put names with spaces or symbols in [brackets]." if not node.bracketed else None
            raise _err(ctx, node, f"Unknown column '{node.name}'.{did_you_mean(node.name, columns)}".rstrip(),
                       hint=hint)
        return Compiled(ctx.table[node.name], f"{ctx.table_var}[{node.name!r}]", f"[{node.name}]")
    if isinstance(node, Unary):
        x = _compile(ctx, node.operand)
        if node.op == "not":
            _need(ctx, node.operand, x, ("boolean",), "'not'")
            return Compiled(~x.value, f"~{x.code}", f"not {x.label}")
        _need(ctx, node.operand, x, _NUM, "'-'")
        return Compiled(-x.value, f"-{x.code}", f"-{x.label}")
    if isinstance(node, Binary):
        return _binary(ctx, node, _compile(ctx, node.left), _compile(ctx, node.right))
    if isinstance(node, IsNull):
        x = _compile(ctx, node.operand)
        method = "notnull" if node.negated else "isnull"
        return Compiled(getattr(x.value, method)(), f"{x.code}.{method}()", f"{x.label} is null")
    if isinstance(node, InList):
        x = _compile(ctx, node.operand)
        items = []
        for item in node.items:
            _, c = _coerce_pair(ctx, (node.operand, item), x, _compile(ctx, item))
            if not _compatible(kind_of(x.value), kind_of(c.value)):
                raise _err(ctx, item, f"{c.label} ({kind_of(c.value)}) cannot be in a list for {x.label} ({kind_of(x.value)})")
            items.append(c)
        method = "notin" if node.negated else "isin"
        return Compiled(in_list(x.value, [c.value for c in items], node.negated, ctx.dialect),
                        f"{x.code}.{method}([{', '.join(c.code for c in items)}])", f"{x.label} in (...)")
    if isinstance(node, Case):
        whens = []
        for cond, val in node.whens:
            c = _compile(ctx, cond)
            _need(ctx, cond, c, ("boolean",), "A 'when' condition")
            whens.append((c, _compile(ctx, val)))
        default = _compile(ctx, node.default) if node.default is not None else None
        _same_type(ctx, node, [v for _, v in whens] + ([default] if default else []))
        value = ibis.cases(*((c.value, v.value) for c, v in whens), else_=default.value if default else None)
        code = ", ".join(f"({c.code}, {v.code})" for c, v in whens)
        return Compiled(value, f"ibis.cases({code}{', else_=' + default.code if default else ''})", "case")
    if isinstance(node, Call):
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            raise _err(ctx, node, f"Unknown function '{node.name}'.{did_you_mean(node.name, FUNCTIONS)}".rstrip(),
                       hint="Functions: " + ", ".join(sorted(FUNCTIONS)))
        n = len(node.args)
        if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
            raise _err(ctx, node, f"{node.name}() takes {_arity(spec)}; got {n}", hint=f"Usage: {spec.signature}")
        return spec.build(ctx, node, [_compile(ctx, a) for a in node.args])
    raise _err(ctx, node, "Unsupported expression")  # pragma: no cover


def _arity(spec: Function) -> str:
    if spec.max_args == spec.min_args:
        return f"{spec.min_args} argument{'s' if spec.min_args != 1 else ''}"
    if spec.max_args is None:
        return f"at least {spec.min_args} arguments"
    return f"{spec.min_args} to {spec.max_args} arguments"


def compile_expression(text: str, table: ir.Table, *, dialect: str = "duckdb", table_var: str = "t") -> Compiled:
    """Parse ``text`` and compile it against ``table``'s columns.

    Parameters
    ----------
    text
        The calculated-field expression, e.g. ``"if(amount > 100, 'big', 'small')"``.
    table
        The ibis table the expression reads.
    dialect
        Target SQL dialect (some functions compile differently, e.g. no TRY_CAST on SQLite).
    table_var
        Name of the table variable in the generated Python code.

    Returns
    -------
    Compiled
        ``value`` (an ibis value expression), ``code`` (equivalent ibis Python), ``label``.

    Raises
    ------
    FlowError
        Syntax errors, unknown columns/functions (with did-you-mean), type mismatches.
    """
    ctx = ExprContext(table, dialect, text, table_var)
    try:
        return _compile(ctx, parse_expression(text))
    except FlowError:
        raise
    except (ibis.common.exceptions.IbisError, TypeError, ValueError) as exc:
        raise FlowError(f"The expression cannot be computed: {exc}", hint=f"Expression: {text[:120]}") from None


# -- autocomplete -------------------------------------------------------------------------------
_IDENT_TAIL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_BRACKET_TAIL = re.compile(r"\[([^\]\[]*)$")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def column_token(name: str) -> str:
    """How a column is written in an expression: bare when possible, else ``[name]``."""
    return name if _PLAIN.match(name) and name.lower() not in FUNCTIONS and name.lower() not in (
        "and", "or", "not", "true", "false", "null", "is", "in", "case", "when", "then", "else", "end") else f"[{name}]"


def complete(prefix: str, columns: Sequence[str], *, limit: int = 50) -> list[str]:
    """Completions for the word being typed at the end of ``prefix``.

    Parameters
    ----------
    prefix
        The expression typed so far (the cursor is at its end).
    columns
        Column names of the step's input.

    Returns
    -------
    list of str
        Replacements for the partial word: columns first (bare, or ``[in brackets]``),
        then functions with an opening parenthesis (``"upper("``); names starting with the
        partial word come before names that merely contain it (case-insensitive).
    """
    m = _BRACKET_TAIL.search(prefix)
    if m:  # inside [ ... : only columns
        part = m.group(1).lower()
        hits = [c for c in columns if c.lower().startswith(part)] + [c for c in columns if part in c.lower()
                                                                       and not c.lower().startswith(part)]
        return [f"[{c}]" for c in hits][:limit]
    m = _IDENT_TAIL.search(prefix)
    part = m.group().lower() if m else ""
    if m and m.start() > 0 and prefix[m.start() - 1] in "'\"":
        return []
    cols = [column_token(c) for c in columns]
    fns = sorted(f"{name}(" for name in FUNCTIONS)
    raw = list(columns) + [f[:-1] for f in fns]
    tokens = cols + fns
    first = [t for t, r in zip(tokens, raw, strict=True) if r.lower().startswith(part)]
    second = [t for t, r in zip(tokens, raw, strict=True) if part and part in r.lower() and not r.lower().startswith(part)]
    return (first + second)[:limit]


def function_catalog() -> list[dict]:
    """Every function once (aliases folded), for the canvas's help panel."""
    groups: dict[tuple, list[Function]] = {}
    for spec in FUNCTIONS.values():
        groups.setdefault((id(spec.build), spec.signature), []).append(spec)
    out = [{"name": specs[0].name, "aliases": [s.name for s in specs[1:]], "signature": specs[0].signature,
            "doc": specs[0].doc, "category": specs[0].category} for specs in groups.values()]
    return sorted(out, key=lambda d: (d["category"], d["name"]))
