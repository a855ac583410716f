"""What every engine receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .knowledge import KnowledgeStore
from .schema import SchemaCatalog

__all__ = ["Engine", "Generation", "GenerationRequest"]


@dataclass
class GenerationRequest:
    """Input of one generation attempt.

    Attributes
    ----------
    question
        The user's question.
    catalog
        Schema of the connections in scope.
    workspace
        Workspace name (for knowledge look-ups).
    knowledge
        SQL pairs and instructions of the workspace, or None.
    context
        The previous turn's engine state (a follow-up), or None.
    feedback
        Earlier failed attempts of this question: ``[{"sql", "error"}]``.
    allow_samples
        Whether low-cardinality values may be shown to an LLM.
    retrieval
        The :class:`.retrieval.Retrieval` ranking of the pipeline's retrieve stage.
    """

    question: str
    catalog: SchemaCatalog
    workspace: str = "default"
    knowledge: KnowledgeStore | None = None
    context: Any = None
    feedback: list[dict] = field(default_factory=list)
    allow_samples: bool = False
    retrieval: Any = None


@dataclass
class Generation:
    """An engine's answer: SQL and where to run it, plus how it got there.

    Attributes
    ----------
    sql
        One SELECT statement.
    dialect
        sqlglot dialect of ``sql`` (``duckdb`` when federated).
    connections
        Connections the SQL reads; one unless ``federated``.
    federated
        True when ``sql`` uses ``connection.table`` names across connections.
    notes
        Human-readable explanation of the choices made.
    state
        Engine state kept by the conversation for follow-ups.
    intent
        ``"data"``, ``"follow_up"`` or ``"pair"`` (a taught SQL pair was reused).
    retrieved
        Qualified tables the engine considered.
    prompt
        The messages sent to an LLM (LLM engine only).
    """

    sql: str
    dialect: str
    connections: list[str]
    federated: bool = False
    notes: list[str] = field(default_factory=list)
    state: Any = None
    intent: str = "data"
    retrieved: list[str] = field(default_factory=list)
    prompt: list[dict] | None = None


class Engine(Protocol):
    """An NL-to-SQL engine."""

    name: str
    max_attempts: int

    def generate(self, request: GenerationRequest) -> Generation:
        """Produce SQL for ``request`` (raise a DataAskError subclass when it cannot)."""
        ...
