"""Plain records of conversations and workspace knowledge (never SQLAlchemy objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ConversationRec:
    id: int
    workspace_id: int
    username: str
    title: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TurnRec:
    """One answered question: no row data, only what re-asks or pins it."""

    id: int
    conversation_id: int
    workspace_id: int
    username: str
    question: str
    sql: str
    engine: str
    federated: bool
    connections: list = field(default_factory=list)
    intent: str = "data"
    row_count: int | None = None
    timings: dict = field(default_factory=dict)
    chart: dict | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class InstructionRec:
    id: int
    workspace_id: int
    text: str
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class SqlPairRec:
    id: int
    workspace_id: int
    question: str
    sql: str
    connection: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
