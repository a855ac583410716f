"""Boolean-expression helpers: split AND/OR trees, factor ORs, implied filters."""

from __future__ import annotations

from sqlglot import exp

from .dialects import COMPARISONS

__all__ = ["aliases_in", "and_all", "conjuncts", "disjuncts", "factor_or", "implied_filter", "null_rejecting"]


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """Split an AND tree (parentheses included) into its conjuncts."""
    if node is None:
        return []
    if isinstance(node, exp.Where):
        node = node.this
    while isinstance(node, exp.Paren) and isinstance(node.this, exp.And):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def aliases_in(node: exp.Expression) -> set[str]:
    """Table qualifiers of all columns under ``node``."""
    return {c.table for c in node.find_all(exp.Column) if c.table}


def disjuncts(node: exp.Expression) -> list[exp.Expression]:
    """Split an OR tree (parentheses included) into its disjuncts."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Or):
        return disjuncts(node.this) + disjuncts(node.expression)
    return [node]


def _or(parts: list[exp.Expression]) -> exp.Expression:
    return exp.or_(*[exp.paren(p, copy=False) for p in parts], copy=False)


def factor_or(cond: exp.Expression) -> list[exp.Expression]:
    """``(A AND B) OR (A AND C)`` -> ``[A, B OR C]`` (exact in SQL's three-valued logic).

    Pulls conjuncts common to every disjunct out of an OR so that join keys and filters
    hidden in TPC-H-style ``OR`` blocks become ordinary conjuncts.
    """
    parts = disjuncts(cond)
    if len(parts) < 2:
        return [cond]
    keyed = [{c.sql("duckdb"): c for c in conjuncts(p)} for p in parts]
    common = [k for k in keyed[0] if all(k in other for other in keyed[1:])]
    if not common:
        return [cond]
    out = [keyed[0][k].copy() for k in common]
    rests = []
    for ks in keyed:
        remaining = [c.copy() for k, c in ks.items() if k not in common]
        if not remaining:  # A OR (A AND B) is A
            return out
        rests.append(and_all(remaining))
    return [*out, _or(rests)]


def implied_filter(cond: exp.Expression, allowed: set[str]) -> exp.Expression | None:
    """The weaker filter over ``allowed`` tables that an OR implies, or None.

    From ``(a.x = 1 AND b.y = 2) OR (a.x = 3 AND b.y = 4)`` it gives ``a.x = 1 OR a.x = 3``
    for ``{"a"}``. The OR itself must still be evaluated; this only pre-filters.
    """
    parts = disjuncts(cond)
    if len(parts) < 2:
        return None
    pieces = []
    for part in parts:
        mine = [c.copy() for c in conjuncts(part) if aliases_in(c) and aliases_in(c) <= allowed]
        if not mine:
            return None
        pieces.append(and_all(mine))
    return _or(pieces)


def and_all(parts: list[exp.Expression]) -> exp.Expression | None:
    return exp.and_(*parts, copy=False) if parts else None


def null_rejecting(node: exp.Expression) -> bool:
    if not isinstance(node, (*COMPARISONS, exp.Between, exp.In, exp.Like, exp.ILike)):
        return False
    safe = (exp.Column, exp.Identifier, exp.Literal, exp.Cast, exp.DataType, exp.Neg, exp.Add,
            exp.Sub, exp.Mul, exp.Paren, exp.Boolean, exp.DataTypeParam)
    return all(isinstance(n, safe) for n in node.walk() if n is not node)
