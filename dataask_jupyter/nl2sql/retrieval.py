"""Rank the tables and columns of a catalog for a question (names, synonyms, fuzzy, values).

Used for the LLM prompt (only relevant tables, plus the tables they relate to) and shown
in ``--explain``. Every n-gram of the question is looked up in the :class:`SchemaIndex`;
a table scores its own matches plus half of its columns' and values' best matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .linking import SchemaIndex
from .schema import SchemaCatalog
from .text import tokenize

__all__ = ["Retrieval", "retrieve"]


@dataclass
class Retrieval:
    """Ranked tables (``connection.table`` -> score) and matched columns/values per table."""

    tables: list[tuple[tuple[str, str], float]] = field(default_factory=list)
    columns: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    values: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)

    def top(self, k: int) -> list[tuple[str, str]]:
        return [key for key, _ in self.tables[:k]]

    def describe(self, k: int = 5) -> str:
        return ", ".join(f"{'.'.join(key)} ({score:.2f})" for key, score in self.tables[:k])


def retrieve(catalog: SchemaCatalog, index: SchemaIndex, question: str, *, k: int = 6,
             with_neighbors: bool = True) -> Retrieval:
    """Rank tables for ``question``; keep the top ``k`` plus (optionally) tables they relate to."""
    tokens = [t for t in tokenize(question) if t.kind in ("word", "quoted", "number")]
    table_score: dict[tuple[str, str], float] = {}
    col_score: dict[tuple[str, str], dict[str, float]] = {}
    values: dict[tuple[str, str], dict[str, list[str]]] = {}
    n = len(tokens)
    for i in range(n):
        for size in range(1, 5):
            if i + size > n:
                break
            words = tuple(t.key for t in tokens[i:i + size])
            for t in index.lookup(words, single=size == 1):
                if t.kind == "table":
                    table_score[t.table] = max(table_score.get(t.table, 0.0), t.score)
                elif t.kind in ("column", "product"):
                    cols = col_score.setdefault(t.table, {})
                    for c in (t.columns or (t.column,)):
                        cols[c] = max(cols.get(c, 0.0), t.score)
                elif t.kind == "value":
                    values.setdefault(t.table, {}).setdefault(t.column, [])
                    if t.value not in values[t.table][t.column]:
                        values[t.table][t.column].append(str(t.value))
                    cols = col_score.setdefault(t.table, {})
                    cols[t.column] = max(cols.get(t.column, 0.0), t.score)
    totals: dict[tuple[str, str], float] = {}
    for key in catalog.tables:
        own = table_score.get(key, 0.0)
        cols = sorted(col_score.get(key, {}).values(), reverse=True)
        score = own + 0.7 * sum(cols[:3])
        if score > 0:
            totals[key] = score
    boosted = dict(totals)  # a table related to another matched table is more likely needed
    for rel in catalog.relationships:
        a, b = rel.from_table, rel.to_table
        if a in totals and b in totals:
            boosted[a] = boosted[a] + 0.3 * totals[b]
            boosted[b] = boosted[b] + 0.3 * totals[a]
    ranked = sorted(boosted.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    if with_neighbors:
        chosen = {key for key, _ in ranked}
        for key, score in list(ranked):
            for rel in catalog.relationships:
                other = rel.to_table if rel.from_table == key else rel.from_table if rel.to_table == key else None
                if other is not None and other not in chosen:
                    chosen.add(other)
                    ranked.append((other, round(score * 0.3, 4)))
    return Retrieval(ranked, col_score, values)
