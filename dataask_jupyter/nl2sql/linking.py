"""Schema linking: which tables, columns and stored values a phrase of a question can mean.

:class:`SchemaIndex` is built once per catalog. :meth:`SchemaIndex.lookup` takes the
normalized words of a phrase and returns scored :class:`Target` s, best first:

==========================================  =====
exact table / column name, stored value     1.0
generic synonym of a name                   0.85
acronym (``mpg`` -> ``miles_per_gallon``)   0.85
last word of a name (``price``)             0.75
abbreviation (``temperature`` -> ``temp``)  0.7
fuzzy (rapidfuzz ratio >= 88; typos)        <= 0.7
other word of a name (``signup``)           0.5
==========================================  =====
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .lexicon import SYNONYMS
from .schema import SchemaCatalog
from .text import phrase_key, words_of

__all__ = ["Mention", "SchemaIndex", "Target"]

FUZZY_CUTOFF = 88


@dataclass(frozen=True)
class Target:
    """One thing a phrase may refer to.

    Attributes
    ----------
    kind
        ``"table"``, ``"column"``, ``"value"`` (a stored value of ``column``) or
        ``"product"`` (a measure ``columns[0] * columns[1]``, e.g. price times quantity).
    """

    kind: str
    table: tuple[str, str]
    column: str | None = None
    value: str | None = None
    columns: tuple[str, ...] = ()
    score: float = 1.0
    how: str = ""

    @property
    def label(self) -> str:
        base = ".".join(self.table)
        if self.kind == "table":
            return base
        if self.kind == "product":
            return f"{base}.({' * '.join(self.columns)})"
        if self.kind == "value":
            return f"{base}.{self.column} = '{self.value}'"
        return f"{base}.{self.column}"

    def same_thing(self, other: Target) -> bool:
        return (self.kind, self.table, self.column, self.value, self.columns) == (
            other.kind, other.table, other.column, other.value, other.columns)


@dataclass
class Mention:
    """A phrase of the question and what it may mean (best first)."""

    start: int
    end: int
    text: str
    targets: list[Target] = field(default_factory=list)
    ranked: bool = False  # named right after "which"/"what": the thing being ranked

    @property
    def best(self) -> Target:
        return self.targets[0]

    def of_kind(self, *kinds: str) -> list[Target]:
        return [t for t in self.targets if t.kind in kinds]

    @property
    def is_value(self) -> bool:
        return self.best.kind == "value"

    @property
    def is_table(self) -> bool:
        return self.best.kind == "table"


class SchemaIndex:
    """Phrase -> target look-ups over a :class:`SchemaCatalog` (exact, synonym, partial, fuzzy)."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self.catalog = catalog
        self.exact: dict[str, list[Target]] = {}
        self.partial: dict[str, list[Target]] = {}
        self.values: dict[str, list[Target]] = {}
        self.words: set[str] = set()
        for table in catalog.tables.values():
            self._add_table(table)
        self._vocab = sorted(self.words)
        self._value_keys = sorted(self.values)
        self.max_value_words = max((len(k.split()) for k in self.values), default=1)

    def _add(self, index: dict, key: str, target: Target) -> None:
        index.setdefault(key, []).append(target)

    def _add_table(self, table) -> None:
        tw = table.words
        if tw:
            self._add(self.exact, phrase_key(tw), Target("table", table.key, score=1.0, how="table name"))
            self.words.update(tw)
            if len(tw) > 1:
                for w in tw:
                    self._add(self.partial, w, Target("table", table.key, score=0.6, how="word of table name"))
        for col in table.columns.values():
            cw = col.words
            if not cw:
                continue
            self.words.update(cw)
            self._add(self.exact, phrase_key(cw), Target("column", table.key, col.name, score=1.0, how="column name"))
            if tw and cw[0] != tw[-1] and not col.is_key:  # "product category", "order amount"
                self._add(self.exact, phrase_key(tw[-1:] + cw),
                          Target("column", table.key, col.name, score=1.0, how="table + column name"))
            if len(cw) > 1:
                self._add(self.partial, cw[-1], Target("column", table.key, col.name, score=0.75, how="last word of column"))
                for w in cw[:-1]:
                    if w not in ("id", "is", "has", "of", "per", "in", "and", "the", "a", "to"):
                        self._add(self.partial, w, Target("column", table.key, col.name, score=0.5, how="word of column"))
                acronym = "".join(w[0] for w in cw)
                if len(acronym) >= 3:
                    self._add(self.partial, acronym, Target("column", table.key, col.name, score=0.85, how="acronym"))
            if col.is_flag and len(cw) > 1:  # is_active: "active" means = 1
                self._add(self.partial, phrase_key(cw[1:]), Target("value", table.key, col.name, value=True,
                                                                    score=0.95, how="yes/no column"))
                self._add(self.partial, "in" + phrase_key(cw[1:]), Target("value", table.key, col.name, value=False,
                                                                          score=0.95, how="yes/no column (no)"))
            for value in col.values or ():
                vw = words_of(value)
                if vw:
                    self._add(self.values, phrase_key(vw), Target("value", table.key, col.name, value=value,
                                                                   score=1.0, how="stored value"))
        # price * quantity style measures
        nums = [c for c in table.columns.values() if c.kind == "number" and not c.is_key]
        prices = [c for c in nums if c.words[-1:] in (("price",), ("cost",), ("rate",), ("fee",))]
        qtys = [c for c in nums if c.words[-1:] in (("quantity",), ("qty",), ("unit",), ("count",))]
        if len(prices) >= 1 and len(qtys) == 1:
            price = next((c for c in prices if c.words[-1] == "price"), prices[0])
            tgt = Target("product", table.key, columns=(price.name, qtys[0].name), score=1.0, how="price x quantity")
            self._add(self.partial, "price*quantity", tgt)

    # -- look-ups --------------------------------------------------------------------------------
    def lookup(self, words: Sequence[str], *, single: bool = True) -> list[Target]:
        """Targets for a phrase of normalized words, best first (deduplicated).

        With ``single=False`` only exact phrase matches are returned (for multi-word spans).
        """
        key = phrase_key(words)
        found: list[Target] = list(self.exact.get(key, []))
        found += self.values.get(key, [])
        if len(words) == 1 or not single:
            found += [t for t in self.partial.get(key, []) if t.how in ("yes/no column", "yes/no column (no)")
                      or len(words) == 1]
        if len(words) == 1 and single:
            w = words[0]
            found += self._synonyms(w)
            if not any(t.score >= 0.75 for t in found):
                found += self._abbreviations(w)
                found += self._fuzzy(w)
        return _dedupe(found)

    def _synonyms(self, word: str) -> list[Target]:
        out: list[Target] = []
        for rank, syn in enumerate(SYNONYMS.get(word, ())):
            if syn == word:
                continue
            factor = 0.85 - 0.02 * rank
            for t in self.exact.get(syn, []) + self.partial.get(syn, []):
                if t.how in ("word of table name", "yes/no column", "yes/no column (no)"):
                    continue
                scale = 1.0 if t.how in ("table name", "column name", "price x quantity") else 0.85
                if t.how == "word of column":
                    scale = 0.5
                out.append(Target(t.kind, t.table, t.column, t.value, t.columns, round(factor * scale, 3),
                                  f"synonym {word}->{syn}"))
        return out

    def _abbreviations(self, word: str) -> list[Target]:
        out: list[Target] = []
        if len(word) < 4:
            return out
        for w in self._vocab:
            if len(w) >= 3 and w != word and (word.startswith(w) or w.startswith(word)) and min(len(w), len(word)) >= 3:
                if abs(len(w) - len(word)) > 8:
                    continue
                for t in self.exact.get(w, []) + self.partial.get(w, []):
                    if t.how == "word of column":
                        continue
                    out.append(Target(t.kind, t.table, t.column, t.value, t.columns, round(t.score * 0.7, 3),
                                      f"abbreviation {word}~{w}"))
        return out

    def _fuzzy(self, word: str) -> list[Target]:
        out: list[Target] = []
        if len(word) < 5:
            return self._demonyms(word) if len(word) >= 4 else out
        for w, score, _ in process.extract(word, self._vocab, scorer=fuzz.ratio, limit=3, score_cutoff=FUZZY_CUTOFF):
            for t in self.exact.get(w, []) + self.partial.get(w, []):
                if t.how == "word of column":
                    continue
                out.append(Target(t.kind, t.table, t.column, t.value, t.columns, round(t.score * 0.7 * score / 100, 3),
                                  f"fuzzy {word}~{w}"))
        for key, score, _ in process.extract(word, self._value_keys, scorer=fuzz.ratio, limit=3, score_cutoff=90):
            for t in self.values[key]:
                out.append(Target(t.kind, t.table, t.column, t.value, t.columns, round(0.8 * score / 100, 3),
                                  f"fuzzy value {word}~{key}"))
        if not out:
            out += self._demonyms(word)
        return out

    def _demonyms(self, word: str) -> list[Target]:
        """``canadian`` -> ``Canada``, ``japanese`` -> ``Japan``, ``sunny`` -> ``sun``: a value the word derives from."""
        out: list[Target] = []
        for suffix in ("ian", "ean", "an", "ese", "ish", "ny", "gy", "py", "dy", "y", "n", "i"):
            stem = word[: -len(suffix)] if word.endswith(suffix) else ""
            if len(stem) < 3:
                continue
            for key in self._value_keys:
                if " " not in key and (key == stem or (len(stem) >= 4 and key.startswith(stem)
                                                       and len(key) - len(stem) <= 2)):
                    out += [Target(t.kind, t.table, t.column, t.value, score=0.8, how=f"derived word {word}~{key}")
                            for t in self.values[key]]
            if out:
                break
        return out

    def initials(self, words: Sequence[str]) -> list[Target]:
        """``san francisco`` -> tables/columns named with ``sf``: the initials of a multi-word phrase."""
        key = "".join(w[0] for w in words if w)
        if len(key) < 2 or key not in self.words:
            return []
        return [Target(t.kind, t.table, t.column, t.value, t.columns, round(t.score * 0.8, 3), f"initials {key}")
                for t in self.exact.get(key, []) + self.partial.get(key, []) if t.kind in ("table", "column")]

    def value_prefix(self, words: Sequence[str]) -> bool:
        """Whether ``words`` start some stored value (to keep extending a multi-word span)."""
        key = phrase_key(words)
        return any(k.startswith(key + " ") for k in self.values)


def _dedupe(targets: list[Target]) -> list[Target]:
    best: dict[tuple, Target] = {}
    for t in targets:
        k = (t.kind, t.table, t.column, t.value, t.columns)
        if k not in best or t.score > best[k].score:
            best[k] = t
    return sorted(best.values(), key=lambda t: (-t.score, t.kind != "table", t.label))
