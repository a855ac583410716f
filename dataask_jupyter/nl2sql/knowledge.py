"""What a workspace teaches the engines: SQL pairs and instructions.

``%dataask teach "question" "SQL"`` stores a :class:`SqlPair`; ``%dataask instruct
"revenue means sum(quantity*unit_price)"`` stores an instruction. The offline engine
reuses a pair whose question is close enough (rapidfuzz ``token_sort_ratio`` at or above
:data:`PAIR_THRESHOLD`); the LLM engine gets the nearest pairs and every instruction.
:class:`KnowledgeStore` is the protocol the metadata store implements; :class:`InMemoryKnowledge`
is the implementation for tests and single sessions.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rapidfuzz import fuzz

__all__ = ["PAIR_THRESHOLD", "InMemoryKnowledge", "KnowledgeEntry", "KnowledgeStore", "SqlPair", "nearest_pairs",
           "parse_ref", "relevant_instructions", "same_numbers"]

PAIR_THRESHOLD = 90.0


@dataclass(frozen=True)
class SqlPair:
    """A question with the SQL that answers it.

    Attributes
    ----------
    connection
        The connection the SQL runs on; ``None`` when the SQL is federated
        (``connection.table`` names) or when it should be inferred from the tables.
    """

    question: str
    sql: str
    connection: str | None = None
    id: int | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "question": self.question, "sql": self.sql, "connection": self.connection}


@dataclass(frozen=True)
class KnowledgeEntry:
    """One taught item as listed by ``%dataask knowledge``.

    Attributes
    ----------
    kind
        ``"instruction"`` or ``"sql_pair"``.
    id
        Number to remove it by (``%dataask forget ID``).
    text
        The instruction, or the pair's question.
    sql
        The pair's SQL (None for instructions).
    """

    kind: str
    id: int
    text: str
    sql: str | None = None
    connection: str | None = None
    created_by: str = ""

    @property
    def ref(self) -> str:
        """``i<id>`` for an instruction, ``p<id>`` for a SQL pair (what ``remove`` takes)."""
        return f"{'i' if self.kind == 'instruction' else 'p'}{self.id}"

    def to_dict(self) -> dict:
        return {"ref": self.ref, "kind": self.kind, "id": self.id, "text": self.text, "sql": self.sql,
                "connection": self.connection, "created_by": self.created_by}


def parse_ref(ref: str) -> tuple[str, int]:
    """``"i3"`` -> ``("instruction", 3)``, ``"p5"`` -> ``("sql_pair", 5)``."""
    from ..errors import UsageError

    m = re.fullmatch(r"\s*([ipIP])(\d{1,12})\s*", ref or "")
    if not m:
        raise UsageError(f"{ref!r} is not a knowledge id: use i<N> for an instruction or p<N> for a SQL pair, "
                         "as listed by the knowledge command.")
    return ("instruction" if m.group(1).lower() == "i" else "sql_pair"), int(m.group(2))


@runtime_checkable
class KnowledgeStore(Protocol):
    """Per-workspace SQL pairs and instructions (the lead backs it by the metadata store)."""

    def sql_pairs(self, workspace: str) -> list[SqlPair]:
        """All pairs of ``workspace``."""
        ...

    def instructions(self, workspace: str) -> list[str]:
        """All instructions of ``workspace``, oldest first."""
        ...

    def add_sql_pair(self, workspace: str, question: str, sql: str, connection: str | None = None) -> SqlPair:
        ...

    def add_instruction(self, workspace: str, text: str) -> None:
        ...

    def entries(self, workspace: str) -> list[KnowledgeEntry]:
        """Instructions then pairs, each with the id to remove it by."""
        ...

    def remove(self, workspace: str, kind: str, entry_id: int) -> bool:
        """Remove one instruction or pair; False when there is none with that id."""
        ...


class InMemoryKnowledge:
    """A :class:`KnowledgeStore` kept in memory (thread-safe)."""

    def __init__(self) -> None:
        self._pairs: dict[str, list[SqlPair]] = {}
        self._instructions: dict[str, list[tuple[int, str]]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def sql_pairs(self, workspace: str) -> list[SqlPair]:
        with self._lock:
            return list(self._pairs.get(workspace, []))

    def instructions(self, workspace: str) -> list[str]:
        with self._lock:
            return [t for _, t in self._instructions.get(workspace, [])]

    def add_sql_pair(self, workspace: str, question: str, sql: str, connection: str | None = None) -> SqlPair:
        """Store a pair (a pair with the same question replaces the old one)."""
        with self._lock:
            pair = SqlPair(question.strip(), sql.strip().rstrip(";"), connection, next(self._ids))
            pairs = [p for p in self._pairs.get(workspace, []) if _key(p.question) != _key(pair.question)]
            self._pairs[workspace] = pairs + [pair]
        return pair

    def add_instruction(self, workspace: str, text: str) -> None:
        with self._lock:
            self._instructions.setdefault(workspace, []).append((next(self._ids), text.strip()))

    def entries(self, workspace: str) -> list[KnowledgeEntry]:
        with self._lock:
            return ([KnowledgeEntry("instruction", i, t) for i, t in self._instructions.get(workspace, [])]
                    + [KnowledgeEntry("sql_pair", p.id or 0, p.question, p.sql, p.connection)
                       for p in self._pairs.get(workspace, [])])

    def remove(self, workspace: str, kind: str, entry_id: int) -> bool:
        with self._lock:
            if kind == "instruction":
                before = self._instructions.get(workspace, [])
                self._instructions[workspace] = [(i, t) for i, t in before if i != entry_id]
                return len(before) != len(self._instructions[workspace])
            before_p = self._pairs.get(workspace, [])
            self._pairs[workspace] = [p for p in before_p if p.id != entry_id]
            return len(before_p) != len(self._pairs[workspace])


def _key(question: str) -> str:
    return " ".join(question.lower().split()).rstrip("?.! ")


def similarity(a: str, b: str) -> float:
    """0..100 similarity of two questions (word order tolerant)."""
    return float(fuzz.token_sort_ratio(_key(a), _key(b)))


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an the of in on for to by and or is are was were what which how many much per with "
                  "from at as be it its this that these those me show give list".split())


def same_numbers(a: str, b: str) -> bool:
    """Do two questions name the same numbers (years, top N, thresholds)? "revenue in 2023" is not
    "revenue in 2024" however similar the words are."""
    return sorted(_NUMBER.findall(a)) == sorted(_NUMBER.findall(b))


def nearest_pairs(question: str, pairs: Sequence[SqlPair], k: int = 3) -> list[tuple[SqlPair, float]]:
    """The ``k`` pairs closest to ``question``, best first, with their similarity."""
    scored = sorted(((p, similarity(question, p.question)) for p in pairs), key=lambda ps: -ps[1])
    return scored[:k]


def relevant_instructions(question: str, instructions: Sequence[str], limit: int = 20) -> list[str]:
    """Instructions for a prompt: all of them when there are at most ``limit``; otherwise the
    ``limit`` sharing the most words with ``question`` (ties keep the taught order)."""
    if len(instructions) <= limit:
        return list(instructions)
    words = set(_WORD.findall(question.lower())) - _STOP
    scored = [(-len(words & set(_WORD.findall(t.lower()))), i, t) for i, t in enumerate(instructions)]
    return [t for _, _, t in sorted(scored)[:limit]]
