"""First pass over a question: cut it into spans (time, vocabulary, schema mentions, fillers).

Longest match wins. On a tie a vocabulary word wins over a schema word, but the schema
reading is kept in ``Span.mention`` (``by year`` may be a time bucket or a ``year``
column; the resolver decides with the tables at hand).
"""

from __future__ import annotations

from dataclasses import dataclass

from .lexicon import (
    ADJECTIVES,
    AGGREGATES,
    BUCKETS,
    CHANGE,
    COMPARATORS,
    FILLERS,
    GROUP_MARKERS,
    LIST_WORDS,
    NEGATIONS,
    SHARE,
    SORT_MARKERS,
    SUPERLATIVES,
    TOP_WORDS,
)
from .linking import Mention, SchemaIndex, Target
from .text import Token
from .timeexpr import TimeExpr, find_time_exprs

__all__ = ["Span", "scan"]

_VOCAB = (  # (kind, table), in priority order for equal lengths
    ("bucket", BUCKETS), ("agg", AGGREGATES), ("cmp", COMPARATORS), ("adj", ADJECTIVES), ("top", TOP_WORDS),
    ("sup", SUPERLATIVES), ("group", GROUP_MARKERS), ("sort", SORT_MARKERS), ("change", CHANGE),
    ("share", SHARE), ("neg", NEGATIONS), ("list", LIST_WORDS),
)
_MAX_VOCAB = max(len(k) for _, table in _VOCAB for k in table)
_CONNECTORS = {"and", "or", ",", "&", "plus", "as", "well"}
_NOT_MENTION_START = {"of", "the", "a", "an", "in", "for", "and", "or", "to", "by", "with", "per", "at", "on"}


@dataclass
class Span:
    """A recognized piece of the question.

    Attributes
    ----------
    kind
        ``time``, ``agg``, ``sup``, ``adj``, ``group``, ``bucket``, ``cmp``, ``top``, ``sort``,
        ``change``, ``share``, ``neg``, ``list``, ``mention``, ``number``, ``and``,
        ``filler`` or ``unknown``.
    value
        The vocabulary value (``"count"``, ``"desc"``, ``">="``, ``"month"``...), the number,
        or the :class:`TimeExpr`.
    mention
        Schema reading of the span (for ``mention`` spans, and the alternative reading of
        vocabulary words that are also schema names).
    """

    kind: str
    start: int
    end: int
    text: str
    value: object = None
    mention: Mention | None = None


def _vocab_match(tokens: list[Token], i: int) -> tuple[str, object, int] | None:
    best = None
    for n in range(min(_MAX_VOCAB, len(tokens) - i), 0, -1):
        words = tuple(t.low.rstrip(".") for t in tokens[i:i + n])
        for kind, table in _VOCAB:
            if words in table:
                if best is None or n > best[2]:
                    best = (kind, table[words], n)
                break
        if best is not None:
            break
    return best


def _schema_match(tokens: list[Token], i: int, index: SchemaIndex, limit: int) -> tuple[list[Target], int]:
    if tokens[i].kind not in ("word", "quoted"):
        return [], 0
    stop_start = tokens[i].low in _NOT_MENTION_START
    longest = max(4, index.max_value_words)
    for n in range(min(longest, limit - i), 1, -1):
        toks = tokens[i:i + n]
        if any(t.kind not in ("word", "number") for t in toks) or toks[-1].low in _NOT_MENTION_START:
            continue
        found = index.lookup(tuple(t.key for t in toks), single=False)
        if stop_start:  # "on time" may be a stored value, never a name
            found = [t for t in found if t.kind == "value"]
        if found:
            return found, n
        if not stop_start and n <= 3 and all(t.kind == "word" and t.low not in FILLERS for t in toks):
            found = index.initials([t.key for t in toks])  # "san francisco" -> sf
            if found:
                return found, n
    if stop_start:
        return [], 0
    tok = tokens[i]
    if tok.kind == "quoted":
        words = tuple(t for t in tok.key.split())
        return index.lookup(words, single=False) or index.lookup((tok.key,)), 1
    return index.lookup((tok.key,)), 1


def scan(tokens: list[Token], index: SchemaIndex) -> list[Span]:
    """Cut ``tokens`` into spans (see :class:`Span`)."""
    spans: list[Span] = []
    times = {e.start: e for e in find_time_exprs(tokens)}
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if i in times:
            e: TimeExpr = times[i]
            spans.append(Span("time", e.start, e.end, e.text, e))
            i = e.end
            continue
        limit = min([s for s in times if s > i], default=n)
        if tok.kind == "number":
            spans.append(Span("number", i, i + 1, tok.text, tok.number))
            i += 1
            continue
        if tok.kind == "op":
            ops = COMPARATORS.get((tok.low,))
            spans.append(Span("cmp" if ops else "filler", i, i + 1, tok.text, ops))
            i += 1
            continue
        if tok.low in _CONNECTORS and tok.kind == "word":
            spans.append(Span("and", i, i + 1, tok.text))
            i += 1
            continue
        vocab = _vocab_match(tokens[:limit], i) if tok.kind != "quoted" else None
        targets, m = _schema_match(tokens, i, index, limit)
        if vocab and (vocab[2] >= m or not targets or (vocab[2] == m and vocab[0] != "list")):
            kind, value, k = vocab
            if kind == "top" and not (i + 1 < n and tokens[i + 1].kind == "number"):
                kind, value = "sup", "desc"
            alt = Mention(i, i + k, _text(tokens, i, i + k), targets) if targets and m == k else None
            spans.append(Span(kind, i, i + k, _text(tokens, i, i + k), value, alt))
            i += k
            continue
        if targets:
            mention = Mention(i, i + m, _text(tokens, i, i + m), targets)
            spans.append(Span("mention", i, i + m, mention.text, None, mention))
            i += m
            continue
        if tok.low in FILLERS or tok.key in FILLERS or tok.low.rstrip(".") in FILLERS:
            spans.append(Span("filler", i, i + 1, tok.text))
        else:
            spans.append(Span("unknown", i, i + 1, tok.text))
        i += 1
    return spans


def _text(tokens: list[Token], a: int, b: int) -> str:
    return " ".join(t.text for t in tokens[a:b])
