"""Per-dialect rules deciding whether an expression may run at a source, and fixes.

Pushing SQL down is only worth it when the source computes exactly what DuckDB would.
Known differences handled here:

* SQLite ``LIKE`` is case-insensitive, its dates are ISO text (a DATE may only be
  compared with a DATE), it lacks many functions sqlglot still emits, folds case for
  ASCII only, truncates where DuckDB rounds, and runs correlated subqueries as nested
  loops (a cost rule: DuckDB decorrelates them).
* MySQL/MariaDB's default collations compare, group, sort and de-duplicate text
  case- and trailing-space-insensitively: nothing touching text in those positions
  is pushed.
* PostgreSQL orders text by the database collation; DuckDB orders bytes. Text sort
  keys, range comparisons and ``min``/``max`` get ``COLLATE "C"``.

Anything the rules cannot type is not pushed (correctness beats pushdown). Filters are
held to a stricter allow-list than whole subqueries.
"""

from __future__ import annotations

import functools

from sqlglot import ErrorLevel, exp
from sqlglot.errors import SqlglotError

__all__ = ["NotPushable", "correlated", "duckdb_type", "is_char", "prepare", "render"]

T = exp.DataType.Type

TEXT = {T.TEXT, T.VARCHAR, T.CHAR, T.NCHAR, T.NVARCHAR, T.NAME, T.BPCHAR, T.MEDIUMTEXT, T.LONGTEXT, T.TINYTEXT}
TEMPORAL = {
    T.DATE, T.DATE32, T.DATETIME, T.DATETIME64, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ,
    T.TIMESTAMPNTZ, T.TIMESTAMP_S, T.TIMESTAMP_MS, T.TIMESTAMP_NS, T.TIME, T.TIMETZ,
}
NUMERIC = set(exp.DataType.NUMERIC_TYPES)
BOOLEAN = {T.BOOLEAN}
UNKNOWN = {T.UNKNOWN, T.NULL}

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
RANGES = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)

# Nodes a pushed-down filter may contain when the source is not DuckDB.
FILTER_NODES = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.And,
    exp.Or, exp.Not, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Neg,
    exp.Add, exp.Sub, exp.Mul, exp.Cast, exp.DataType, exp.DataTypeParam, exp.Substring, *COMPARISONS,
)

# Functions sqlglot emits for SQLite although SQLite has no such function or syntax.
_SQLITE_MISSING = (
    "Concat", "Year", "Month", "Day", "Week", "Quarter", "DayOfWeek", "DayOfYear",
    "Extract", "DateTrunc", "TimestampTrunc", "TimeTrunc", "Interval", "DatePart",
    "StartsWith", "Contains", "RegexpLike", "RegexpExtract", "RegexpReplace", "Left",
    "Right", "Array", "Hash", "TimeToUnix", "UnixToTime", "Struct", "Explode", "Unnest",
    "ArrayAgg", "Lateral", "DateAdd", "DateSub", "TsOrDsAdd",
    "Upper", "Lower", "ILike",  # ASCII-only case folding in SQLite
)
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod)
INTEGER_TYPES = set(exp.DataType.INTEGER_TYPES)
_NEVER = (exp.Anonymous, exp.AnonymousAggFunc, exp.Lateral, exp.Unnest, exp.Pivot)


class NotPushable(Exception):
    """An expression cannot run at the source with DuckDB's semantics."""


@functools.lru_cache(maxsize=4096)  # a pure function of its arguments, asked for every column of every plan
def duckdb_type(type_name: str, dialect: str) -> str:
    """Map a source type name to a DuckDB type name (``VARCHAR`` when unknown).

    Parameters
    ----------
    type_name
        As the source reports it, e.g. ``"character varying(20)"``, ``"INTEGER"``.
    dialect
        The source's sqlglot dialect.
    """
    if not type_name or not type_name.strip():
        return "VARCHAR"
    try:
        dtype = exp.DataType.build(type_name, dialect=dialect)
    except (SqlglotError, ValueError, TypeError):
        return "VARCHAR"
    if dtype.this in (T.USERDEFINED, T.UNKNOWN):
        return "VARCHAR"
    try:
        return dtype.sql("duckdb")
    except SqlglotError:  # pragma: no cover - defensive
        return "VARCHAR"


# --------------------------------------------------------------------------- typing


def is_char(node: exp.Expression) -> bool:
    """Whether ``node`` has a blank-padded ``CHAR(n)`` type (PostgreSQL pads on output)."""
    dtype = _type(node)
    return dtype is not None and dtype.this in (T.CHAR, T.NCHAR, T.BPCHAR)


def _kind(node: exp.Expression) -> str:
    """``"text" | "number" | "temporal:<type>" | "bool" | "unknown" | "other"``."""
    dtype = _type(node)
    if dtype is None:
        return "unknown"
    if dtype.this in TEXT:
        return "text"
    if dtype.this in NUMERIC:
        return "number"
    if dtype.this in TEMPORAL:
        return f"temporal:{dtype.this.value}"
    if dtype.this in BOOLEAN:
        return "bool"
    return "other"


def _type(node: exp.Expression) -> exp.DataType | None:
    if isinstance(node, exp.Paren):
        return _type(node.this)
    if isinstance(node, exp.Column) and not node.table:
        select = node.find_ancestor(exp.Select)
        if select is not None:  # ORDER BY / GROUP BY reference to a projection alias
            for projection in select.expressions:
                if projection.alias_or_name == node.name and projection is not node:
                    return _type(projection.unalias() if isinstance(projection, exp.Alias) else projection)
    if isinstance(node, exp.Alias):
        return _type(node.this)
    dtype = node.type
    if dtype is None or dtype.this in UNKNOWN:
        return None
    return dtype


def _operands(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Between):
        return [node.this, node.args["low"], node.args["high"]]
    if isinstance(node, exp.In):
        return [node.this, *node.expressions]
    return [node.this, node.expression]


def _compatible(kinds: list[str], dialect: str) -> bool:
    known = [k for k in kinds if k != "null"]
    if not known or "unknown" in known or "other" in known:
        return False
    families = {k.split(":")[0] for k in known}
    if len(families) != 1:
        return False
    if families == {"temporal"} and dialect == "sqlite":
        return len(set(known)) == 1  # ISO text: DATE vs DATE, TIMESTAMP vs TIMESTAMP only
    return True


def _null_aware_kinds(nodes: list[exp.Expression]) -> list[str]:
    return ["null" if isinstance(n, exp.Null) else _kind(n) for n in nodes]


# --------------------------------------------------------------------------- rules


def _plain_substring(node: exp.Substring) -> bool:
    bounds = [node.args.get("start"), node.args.get("length")]
    return (
        isinstance(node.this, exp.Column) and _kind(node.this) == "text"
        and all(isinstance(b, exp.Literal) and b.is_int and int(b.name) >= 1 for b in bounds)
    )


def _check_filter_shape(node: exp.Expression, dialect: str) -> None:
    for sub in node.walk():
        if not isinstance(sub, FILTER_NODES):
            raise NotPushable(f"{type(sub).__name__} in a filter is not pushed to {dialect}")
        if isinstance(sub, exp.Cast) and not isinstance(sub.this, exp.Literal):
            raise NotPushable("casts of columns are not pushed")
        if isinstance(sub, exp.Substring) and not _plain_substring(sub):
            # every dialect agrees on SUBSTRING(text, start >= 1, length >= 0) counted in characters
            raise NotPushable("SUBSTRING is pushed only with positive literal start and length")
        if isinstance(sub, exp.In) and sub.args.get("query") is not None:
            raise NotPushable("IN (subquery) is not pushed as a filter")
        if isinstance(sub, COMPARISONS + (exp.Between, exp.In)):
            if not _compatible(_null_aware_kinds(_operands(sub)), dialect):
                raise NotPushable(f"operand types of {sub.sql('duckdb')!r} differ or are unknown")


def _collate_c(node: exp.Expression) -> exp.Expression:
    return exp.Collate(this=node.copy(), expression=exp.to_identifier("C", quoted=True))


def _text_positions(node: exp.Expression) -> list[exp.Expression]:
    """Expressions whose text semantics (order/equality) matter to the result."""
    out: list[exp.Expression] = []
    for sub in node.walk():
        if isinstance(sub, exp.Ordered):
            out.append(sub.this)
        elif isinstance(sub, (exp.Min, exp.Max)):
            out.append(sub.this)
        elif isinstance(sub, (*COMPARISONS, exp.Between, exp.In, exp.Like, exp.ILike)):
            out.extend(o for o in _operands(sub) if not isinstance(o, exp.Query))
        elif isinstance(sub, exp.Group):
            out.extend(sub.expressions)
        elif isinstance(sub, exp.Distinct):
            out.extend(sub.expressions)
        elif isinstance(sub, exp.Select) and sub.args.get("distinct"):
            out.extend(sub.expressions)
        elif isinstance(sub, exp.SetOperation) and isinstance(sub.left, exp.Select):
            out.extend(sub.left.expressions)
    return out


def _no_date_arithmetic(node: exp.Expression, dialect: str) -> None:
    """``date + 1`` is a day later in DuckDB but a number in SQLite and MySQL."""
    for sub in node.walk():
        if isinstance(sub, ARITHMETIC):
            kinds = {_kind(sub.this), _kind(sub.expression)}
            if "unknown" in kinds or any(k.startswith("temporal") for k in kinds):
                raise NotPushable(f"date or untyped arithmetic differs in {dialect}")


def _mysql_rules(node: exp.Expression) -> None:
    _no_date_arithmetic(node, "mysql")
    for sub in _text_positions(node):
        kind = _kind(sub)
        if kind in ("text", "unknown") and not isinstance(sub, (exp.Literal, exp.Null, exp.Star)):
            raise NotPushable("MySQL compares, groups and sorts text case-insensitively")


def _postgres_rules(node: exp.Expression) -> None:
    targets: list[exp.Expression] = []
    for sub in node.walk():
        if isinstance(sub, exp.Ordered):
            targets.append(sub.this)
        elif isinstance(sub, (exp.Min, exp.Max)):
            targets.append(sub.this)
        elif isinstance(sub, RANGES):
            targets.extend(o for o in _operands(sub) if not isinstance(o, exp.Literal))
    for target in targets:
        kind = _kind(target)
        if kind == "unknown" and not isinstance(target, (exp.Literal, exp.Null)):
            raise NotPushable("cannot tell whether a sort or range key is text")
        if kind == "text" and not isinstance(target, exp.Collate):
            target.replace(_collate_c(target))


def correlated(node: exp.Expression) -> bool:
    """Whether ``node`` references a table alias defined outside it (aliases must be unique)."""
    defined = {a.name for a in node.find_all(exp.TableAlias)}
    defined |= {c.alias_or_name for c in node.find_all(exp.CTE)}
    return any(c.table and c.table not in defined for c in node.find_all(exp.Column))


def _sqlite_rules(node: exp.Expression) -> None:
    for sub in node.find_all(exp.Select):
        if sub is not node and correlated(sub):
            raise NotPushable("SQLite runs correlated subqueries as nested loops")
    missing = tuple(c for c in (getattr(exp, n, None) for n in _SQLITE_MISSING) if c)
    _no_date_arithmetic(node, "sqlite")
    for sub in node.walk():
        if isinstance(sub, exp.Cast) and sub.to.this in INTEGER_TYPES:
            source = _type(sub.this)
            if source is None or source.this not in INTEGER_TYPES | TEXT:
                raise NotPushable("SQLite truncates where DuckDB rounds when casting to an integer")
        if isinstance(sub, missing):
            raise NotPushable(f"SQLite has no {type(sub).__name__}")
        if isinstance(sub, exp.Like):
            pattern = sub.expression
            if not (isinstance(pattern, exp.Literal) and not any(ch.isalpha() for ch in pattern.this)):
                raise NotPushable("SQLite LIKE is case-insensitive")
        if isinstance(sub, COMPARISONS + (exp.Between, exp.In)) and not (
            isinstance(sub, exp.In) and sub.args.get("query") is not None
        ):
            kinds = _null_aware_kinds(_operands(sub))
            if any(k.startswith("temporal") for k in kinds) and not _compatible(kinds, "sqlite"):
                raise NotPushable("SQLite compares dates as text; types must match exactly")


def prepare(node: exp.Expression, dialect: str, *, filter_only: bool = False) -> exp.Expression:
    """Check that ``node`` computes the same at a ``dialect`` source; return a fixed copy.

    Parameters
    ----------
    node
        A type-annotated expression (qualified, DuckDB semantics).
    dialect
        Target sqlglot dialect.
    filter_only
        Apply the stricter allow-list for WHERE/ON conjuncts.

    Raises
    ------
    NotPushable
        When the source might compute something different.
    """
    for sub in node.walk():
        if isinstance(sub, (exp.AggFunc, exp.Window)) and filter_only:
            raise NotPushable("aggregates and windows are not filters")
        if isinstance(sub, exp.Query) and filter_only:
            raise NotPushable("subqueries are not pushed as filters")
    copy = node.copy()
    if dialect == "duckdb":
        return copy
    for sub in copy.walk():
        if isinstance(sub, _NEVER):
            name = sub.name if isinstance(sub, exp.Anonymous) else type(sub).__name__
            raise NotPushable(f"{name} has no known equivalent in {dialect}")
    if filter_only:
        _check_filter_shape(copy, dialect)
    if dialect == "sqlite":
        _sqlite_rules(copy)
    elif dialect == "mysql":
        _mysql_rules(copy)
    elif dialect == "postgres":
        _postgres_rules(copy)
    return copy


def render(node: exp.Expression, dialect: str) -> str:
    """SQL text for ``dialect``, quoting every identifier; raise NotPushable if sqlglot can't."""
    try:
        return node.sql(dialect=dialect, identify=True, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as err:
        raise NotPushable(f"sqlglot cannot express this in {dialect}: {err}") from None
