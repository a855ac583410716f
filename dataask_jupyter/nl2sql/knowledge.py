"""What a workspace teaches the engines: SQL pairs and instructions.

``%dataask teach "question" "SQL"`` stores a :class:`SqlPair`; ``%dataask instruct
"revenue means sum(quantity*unit_price)"`` stores an instruction. The offline engine
reuses a pair whose question is close enough (rapidfuzz ``token_sort_ratio`` at or above
:data:`PAIR_THRESHOLD`); the LLM engine gets the nearest pairs and every instruction.
:class:`KnowledgeStore` is the protocol the metadata store implements; :class:`InMemoryKnowledge`
is the implementation for tests and single sessions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rapidfuzz import fuzz

__all__ = ["PAIR_THRESHOLD", "InMemoryKnowledge", "KnowledgeStore", "SqlPair", "nearest_pairs"]

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

    def to_dict(self) -> dict:
        return {"question": self.question, "sql": self.sql, "connection": self.connection}


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


class InMemoryKnowledge:
    """A :class:`KnowledgeStore` kept in memory (thread-safe)."""

    def __init__(self) -> None:
        self._pairs: dict[str, list[SqlPair]] = {}
        self._instructions: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def sql_pairs(self, workspace: str) -> list[SqlPair]:
        with self._lock:
            return list(self._pairs.get(workspace, []))

    def instructions(self, workspace: str) -> list[str]:
        with self._lock:
            return list(self._instructions.get(workspace, []))

    def add_sql_pair(self, workspace: str, question: str, sql: str, connection: str | None = None) -> SqlPair:
        """Store a pair (a pair with the same question replaces the old one)."""
        pair = SqlPair(question.strip(), sql.strip().rstrip(";"), connection)
        with self._lock:
            pairs = [p for p in self._pairs.get(workspace, []) if _key(p.question) != _key(pair.question)]
            self._pairs[workspace] = pairs + [pair]
        return pair

    def add_instruction(self, workspace: str, text: str) -> None:
        with self._lock:
            self._instructions.setdefault(workspace, []).append(text.strip())


def _key(question: str) -> str:
    return " ".join(question.lower().split()).rstrip("?.! ")


def similarity(a: str, b: str) -> float:
    """0..100 similarity of two questions (word order tolerant)."""
    return float(fuzz.token_sort_ratio(_key(a), _key(b)))


def nearest_pairs(question: str, pairs: Sequence[SqlPair], k: int = 3) -> list[tuple[SqlPair, float]]:
    """The ``k`` pairs closest to ``question``, best first, with their similarity."""
    scored = sorted(((p, similarity(question, p.question)) for p in pairs), key=lambda ps: -ps[1])
    return scored[:k]
