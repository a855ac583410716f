"""Nested aggregates: an aggregate over per-group results ("average number of orders per
customer", "average of the per-customer order totals", "highest total revenue per region").

:func:`split_nested` recognizes the phrasing with generic English only and returns the
inner question ("number of orders per customer") plus the outer aggregate; the offline
engine answers the inner question as usual and :func:`wrap` puts the outer aggregate
around it: ``SELECT AVG(order_count) FROM (<inner>) AS per_group``. Whether a word names
an entity (a table: count its rows) or an amount (a column) comes from the schema, so
"average pages per book" stays a plain average.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .dialects import quote_ident
from .lexicon import DEFAULT_SUM_WORDS
from .linking import SchemaIndex

__all__ = ["Nested", "split_nested", "wrap"]

# "highest"/"lowest" are left out: "highest total revenue per region" asks for a ranking
OUTER = {"average": "avg", "avg": "avg", "mean": "avg", "typical": "avg", "maximum": "max", "max": "max",
         "minimum": "min", "min": "min"}
_OUTER = "|".join(sorted(OUTER, key=len, reverse=True))
_LEAD = r"^(?:(?:what|which)(?:'s|\s+is|\s+was|\s+are)\s+|show(?:\s+me)?\s+|give\s+me\s+|compute\s+)?(?:the\s+)?"
_SEP = r"\s+(?:per|for\s+each|for\s+every|by\s+each|each|by)\s+"
_PER_X_TOTALS = re.compile(_LEAD + rf"(?P<outer>{_OUTER})\s+(?:of\s+)?(?:the\s+|all\s+)?per[-\s](?P<x>\w+)\s+"
                           r"(?P<y>[\w\s]+?)\s+(?P<kind>totals?|sums?|counts?|numbers?)(?P<rest>\s.*)?$")
_COUNT = re.compile(_LEAD + rf"(?P<outer>{_OUTER})\s+(?:number|count|amount)\s+of\s+(?P<y>[\w\s]+?){_SEP}(?P<x>.+)$")
_TOTAL = re.compile(_LEAD + rf"(?P<outer>{_OUTER})\s+(?:total|sum\s+of|overall)\s+(?P<y>[\w\s]+?){_SEP}(?P<x>.+)$")
_PLAIN = re.compile(_LEAD + rf"(?P<outer>{_OUTER})\s+(?P<y>[\w\s]+?){_SEP}(?P<x>.+)$")


@dataclass(frozen=True)
class Nested:
    """``outer`` (avg, max, min) over the answer to ``inner``."""

    outer: str
    inner: str


def _clean(question: str) -> str:
    return " ".join(question.lower().replace("?", " ").replace("’", "'").split()).rstrip(".! ")


def _entity(phrase: str, index: SchemaIndex):
    """The table a short phrase names ("orders", "order items"), or None (a column, a value, unknown)."""
    from .parse import parse_question

    d = parse_question(phrase, index)
    ms = d.mentions()
    if d.unknown or d.measures and any(m.mention is not None for m in d.measures) or len(ms) != 1:
        return None
    m = ms[0]
    if not m.is_table or m.of_kind("column", "product") and m.of_kind("column", "product")[0].score >= m.best.score:
        return None
    return m.best.table


def _amount_column(table, index: SchemaIndex) -> str | None:
    """The one column of ``table`` that is naturally added up (amount, revenue, ...)."""
    info = index.catalog.tables[table]
    cols = [c for c in info.columns.values() if c.kind == "number" and not c.is_key
            and set(c.words) & DEFAULT_SUM_WORDS]
    return " ".join(cols[0].words) if len(cols) == 1 else None


def split_nested(question: str, index: SchemaIndex) -> Nested | None:
    """The outer aggregate and inner question of a nested-aggregate question, else None."""
    q = _clean(question)
    m = _PER_X_TOTALS.match(q)
    if m:
        y, x, rest = m.group("y"), m.group("x"), (m.group("rest") or "").strip()
        table = _entity(y, index)
        if m.group("kind").startswith(("count", "number")):
            inner = f"number of {y} per {x}" if table is not None else None
        elif table is not None:
            col = _amount_column(table, index)
            inner = f"total {y} {col} per {x}" if col else None
        else:
            inner = f"total {y} per {x}"
        return Nested(OUTER[m.group("outer")], f"{inner} {rest}".strip()) if inner else None
    m = _COUNT.match(q)
    if m and _entity(m.group("y"), index) is not None:
        return Nested(OUTER[m.group("outer")], f"number of {m.group('y')} per {m.group('x')}")
    m = _TOTAL.match(q)
    if m and _entity(m.group("y"), index) is None:
        return Nested(OUTER[m.group("outer")], f"total {m.group('y')} per {m.group('x')}")
    m = _PLAIN.match(q)
    if m and _entity(m.group("y"), index) is not None:  # "average orders per customer"
        return Nested(OUTER[m.group("outer")], f"number of {m.group('y')} per {m.group('x')}")
    return None


def wrap(sql: str, outer: str, alias: str, dialect: str) -> str:
    """``SELECT OUTER(alias) FROM (sql) AS per_group``."""
    fn = {"avg": "AVG", "max": "MAX", "min": "MIN"}[outer]
    col = quote_ident(alias, dialect)
    out = quote_ident(f"{outer}_{alias}", dialect)
    inner = "\n".join("  " + line for line in sql.splitlines())
    return f"SELECT {fn}({col}) AS {out}\nFROM (\n{inner}\n) AS per_group"
