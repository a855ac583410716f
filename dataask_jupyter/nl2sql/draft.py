"""What a question asks, before tables are chosen: :class:`Draft` and its parts.

Follow-up questions are merged at this level (:func:`merge_follow_up`): "now by month"
replaces the groupings of the previous draft, "only for Europe" adds a condition, "what
about 2023" replaces the time range.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .linking import Mention
from .timeexpr import TimeExpr

__all__ = ["Cond", "Dim", "Draft", "Measure", "merge_follow_up"]


@dataclass
class Measure:
    """An aggregate asked for. ``mention`` None means counting rows."""

    agg: str | None
    mention: Mention | None = None
    word: str | None = None
    from_superlative: bool = False


@dataclass
class Dim:
    """A grouping: a mention (column or entity table) and/or a time bucket."""

    mention: Mention | None = None
    bucket: str | None = None
    alt: Mention | None = None  # schema reading of a bucket word ("year" column)


@dataclass
class Cond:
    """A condition: a stored value, a comparison with numbers, or a count of related rows."""

    kind: str  # "value" | "compare" | "count" | "null"
    mention: Mention | None
    op: str = "="
    numbers: list[float] = field(default_factory=list)
    prep: str | None = None  # the word before a value ("from JFK", "to LAX")
    unit: str | None = None  # a time unit after the number ("over 2 hours")


@dataclass
class Draft:
    """What a question asks, before tables are chosen (see module docstring)."""

    question: str
    measures: list[Measure] = field(default_factory=list)
    dims: list[Dim] = field(default_factory=list)
    conds: list[Cond] = field(default_factory=list)
    times: list[TimeExpr] = field(default_factory=list)
    others: list[Mention] = field(default_factory=list)
    subject: Mention | None = None
    compare: bool = False
    share: bool = False
    order: str | None = None
    order_hint: tuple[str, ...] = ()
    order_mention: Mention | None = None
    limit: int | None = None
    singular_rank: bool = False
    asks_list: bool = False
    unknown: list[str] = field(default_factory=list)
    follow_up: bool = False
    follow_add: bool = False
    row_count: bool = False
    asks_list_rows: bool = False
    outer: str | None = None  # an aggregate over the per-group results (:mod:`.nested`)

    def mentions(self) -> list[Mention]:
        out = [m.mention for m in self.measures if m.mention] + [d.mention for d in self.dims if d.mention]
        out += [c.mention for c in self.conds if c.mention] + self.others
        if self.subject is not None:
            out.append(self.subject)
        if self.order_mention is not None:
            out.append(self.order_mention)
        return out

    @property
    def is_modifier_only(self) -> bool:
        """Nothing of its own to measure or list: only groupings, conditions, time or ranking."""
        return not self.measures and self.subject is None and not any(
            not m.is_value for m in self.others) and not self.row_count


def merge_follow_up(new: Draft, previous: Draft) -> Draft:
    """Apply a follow-up (``now by month``, ``only for Europe``, ``what about 2023``) to the previous draft."""
    merged = copy.copy(previous)
    merged.question = f"{previous.question} | {new.question}"
    merged.unknown = list(new.unknown)
    merged.follow_up = True
    if new.measures:
        merged.measures = list(new.measures)
    if new.dims:
        merged.dims = (list(previous.dims) + list(new.dims)) if new.follow_add else list(new.dims)
    if new.times:
        merged.times = list(new.times)
        merged.compare = new.compare or (previous.compare and len(new.times) > 1)
    elif new.compare:
        merged.compare = True
    conds = list(previous.conds)
    for c in new.conds:
        if c.kind == "value" and c.mention is not None:
            col = (c.mention.best.table, c.mention.best.column)
            conds = [o for o in conds if not (o.kind == "value" and o.mention is not None
                                               and (o.mention.best.table, o.mention.best.column) == col)]
        conds.append(c)
    merged.conds = conds
    if new.order is not None or new.limit is not None:
        merged.order = new.order or previous.order
        merged.limit = new.limit if new.limit is not None else previous.limit
        merged.order_hint = new.order_hint or previous.order_hint
    if new.share:
        merged.share = True
    merged.others = list(previous.others) + [m for m in new.others if not m.is_table]
    if new.subject is not None:
        merged.subject = new.subject
    return merged
