"""The offline engine: deterministic, explainable question -> SQL with no model and no network.

Steps: reuse a taught SQL pair when one is close enough; otherwise cut the question into
spans (:mod:`.spans`), read the roles of its words (:mod:`.parse`), merge a follow-up
into the previous turn, choose tables and columns (:mod:`.resolve`) and write SQL
(:mod:`.render`). Words it cannot map are reported in :class:`NotUnderstood` and nothing
runs; a word that fits several columns equally raises :class:`NeedsClarification`.

Only generic vocabulary is built in (:mod:`.lexicon`); every name comes from the schema.
"""

from __future__ import annotations

import re
import weakref

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import DataAskError
from .base import Generation, GenerationRequest
from .errors import NotUnderstood
from .knowledge import PAIR_THRESHOLD, nearest_pairs, same_numbers
from .linking import SchemaIndex, Target
from .nested import split_nested, wrap
from .parse import Draft, merge_follow_up, parse_question
from .render import render
from .resolve import resolve
from .result import Replay
from .schema import SchemaCatalog
from .text import phrase_key, words_of

__all__ = ["OfflineEngine"]

_CAP_RUN = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:de|del|la|le|of|van|von|da|do|dos|y)?\s*[A-Z][\w'’.-]*)*")


class OfflineEngine:
    """Rule-based engine over a :class:`SchemaCatalog` (see module docstring).

    Parameters
    ----------
    pair_threshold
        Minimum rapidfuzz similarity (0-100) for reusing a taught SQL pair.
    """

    name = "offline"
    max_attempts = 1

    def __init__(self, *, pair_threshold: float = PAIR_THRESHOLD) -> None:
        self.pair_threshold = pair_threshold
        self._indexes: weakref.WeakKeyDictionary[SchemaCatalog, SchemaIndex] = weakref.WeakKeyDictionary()

    def index(self, catalog: SchemaCatalog) -> SchemaIndex:
        """The (cached) schema index of ``catalog``."""
        idx = self._indexes.get(catalog)
        if idx is None:
            idx = self._indexes[catalog] = SchemaIndex(catalog)
        return idx

    def generate(self, request: GenerationRequest) -> Generation:
        """SQL for ``request.question`` (raises NotUnderstood / NeedsClarification)."""
        pair = self._pair(request)
        if pair is not None:
            return pair
        draft, index = self._draft(request.question, request.catalog)
        intent = "data"
        previous: Draft | None = request.context if isinstance(request.context, Draft) else None
        if isinstance(request.context, Replay):
            previous = self._rebuild(request.context, request.catalog)
        if previous is not None and (draft.is_modifier_only or (draft.follow_up and draft.subject is None)):
            draft = merge_follow_up(draft, previous)
            intent = "follow_up"
        if draft.unknown:
            words = list(dict.fromkeys(draft.unknown))
            raise NotUnderstood(
                f"I could not map {', '.join(repr(w) for w in words)} to any table, column or value.",
                unmapped_words=words,
                hint="Use a column or table name or a value stored in the data (or write the SQL "
                     "in a %%federate cell).")
        if not draft.mentions() and not draft.measures:
            raise NotUnderstood("The question names no table, column or value of the connected databases.",
                                unmapped_words=[])
        spec = resolve(draft, request.catalog, index)
        if draft.outer and spec.measures:
            spec.order, spec.limit = [], None
        out = render(spec, request.catalog)
        notes = list(spec.notes)
        if draft.outer and spec.measures:
            out.sql = wrap(out.sql, draft.outer, spec.measures[0].alias, out.dialect)
            notes.append(f"{draft.outer} over the per-group results ({spec.measures[0].alias})")
        if intent == "follow_up" and previous is not None:
            notes.insert(0, f"follow-up of: {previous.question}")
        if out.federated:
            notes.append(f"federated over {', '.join(out.connections)}")
        return Generation(out.sql, out.dialect, out.connections, out.federated, notes, state=draft, intent=intent,
                          retrieved=sorted({".".join(k) for k in spec.tables()}))

    # -- helpers ------------------------------------------------------------------------------------
    def _parse(self, question: str, catalog: SchemaCatalog) -> tuple[Draft, SchemaIndex]:
        index = self.index(catalog)
        draft = parse_question(question, index)
        if draft.unknown:
            extra = self._probe(catalog, draft)
            if extra:
                index = _Overlay(index, extra)
                draft = parse_question(question, index)
        return draft, index

    def _draft(self, question: str, catalog: SchemaCatalog) -> tuple[Draft, SchemaIndex]:
        """The draft of a question; a nested aggregate ("average number of orders per customer")
        is the draft of its inner question with ``outer`` set."""
        nest = split_nested(question, self.index(catalog))
        if nest is not None:
            try:
                inner, index = self._parse(nest.inner, catalog)
            except DataAskError:
                inner = None
            if inner is not None and not inner.unknown and inner.dims and len(inner.measures) == 1 \
                    and inner.measures[0].agg in ("count", "sum") and not inner.compare and not inner.share:
                inner.outer, inner.question = nest.outer, question
                return inner, index
        return self._parse(question, catalog)

    def _rebuild(self, replay: Replay, catalog: SchemaCatalog) -> Draft | None:
        """The follow-up state of a conversation restored from the store: re-read its questions."""
        previous: Draft | None = None
        for question, intent in replay.questions:
            try:
                draft, _ = self._draft(question, catalog)
            except DataAskError:
                return None
            if previous is not None and intent == "follow_up":
                draft = merge_follow_up(draft, previous)
            previous = draft
        return previous if previous is not None and not previous.unknown else None

    def _pair(self, request: GenerationRequest) -> Generation | None:
        if request.knowledge is None:
            return None
        pairs = request.knowledge.sql_pairs(request.workspace)
        near = nearest_pairs(request.question, pairs, k=1)
        if not near or near[0][1] < self.pair_threshold or not same_numbers(request.question, near[0][0].question):
            return None
        pair, score = near[0]
        conns, federated = _pair_connections(pair.sql, pair.connection, request.catalog)
        if not conns:
            return None
        dialect = "duckdb" if federated else request.catalog.dialect(conns[0])
        return Generation(pair.sql, dialect, conns, federated,
                          [f"reused the taught SQL pair '{pair.question}' (similarity {score:.0f})"],
                          intent="pair", retrieved=[])

    def _probe(self, catalog: SchemaCatalog, draft: Draft) -> dict[str, list[Target]]:
        """Look unknown capitalized words up in high-cardinality text columns (guarded queries)."""
        runs = [m.group(0) for m in _CAP_RUN.finditer(draft.question)]
        wanted = []
        unknown = {u.lower() for u in draft.unknown}
        for run in runs:
            words = run.split()
            if any(w.lower().strip(".,?!") in unknown for w in words):
                wanted.append(run.strip(".,?!"))
                wanted += [w.strip(".,?!") for w in words]
        wanted = [w for w in dict.fromkeys(wanted) if w]
        if not wanted:
            return {}
        mentioned = {t.table for m in draft.mentions() for t in m.targets}
        related = {r.to_table for r in catalog.relationships if r.from_table in mentioned} | {
            r.from_table for r in catalog.relationships if r.to_table in mentioned}
        tables = sorted(mentioned) + sorted(related - mentioned) if mentioned else sorted(catalog.tables)
        found: dict[str, list[Target]] = {}
        for key in tables[:40]:
            for column, value in catalog.probe_values(key, wanted):
                k = phrase_key(words_of(value))
                found.setdefault(k, []).append(Target("value", key, column, value=value, score=1.0, how="value look-up"))
        return found


class _Overlay(SchemaIndex):
    """A schema index plus values found by a look-up for one question."""

    def __init__(self, base: SchemaIndex, extra: dict[str, list[Target]]) -> None:  # noqa: D107
        self.__dict__.update(base.__dict__)
        self.values = {**base.values}
        for k, targets in extra.items():
            self.values[k] = self.values.get(k, []) + targets
        self._value_keys = sorted(self.values)
        self.max_value_words = max(base.max_value_words, max((len(k.split()) for k in extra), default=1))


def _pair_connections(sql: str, connection: str | None, catalog: SchemaCatalog) -> tuple[list[str], bool]:
    if connection:
        return [connection], False
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return [], False
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    tables = [(t.db, t.name) for t in tree.find_all(exp.Table) if t.name not in ctes]
    qualified = {db for db, _ in tables if db and db in catalog.connections}
    if qualified:
        return sorted(qualified), True
    owners = [{k[0] for k in catalog.tables if k[1] == name} for _, name in tables]
    common = set.intersection(*owners) if owners else set()
    return (sorted(common)[:1], False) if common else ([], False)

