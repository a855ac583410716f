"""The metadata store: SQLAlchemy models, Alembic migrations and the repository interface."""

from __future__ import annotations

from .ask_records import ConversationRec, InstructionRec, SqlPairRec, TurnRec
from .ask_store import question_key
from .database import create_store_engine, migrate
from .records import AuditRecord, ConnectionRecord, EventRecord, UsageTotals, WorkspaceRecord
from .repository import DEFAULT_WORKSPACE, LocalRepository, Repository
from .workspace_repository import SQLWorkspaceRepository, WorkspaceRepository  # noqa: F401

__all__ = [
    "DEFAULT_WORKSPACE", "AuditRecord", "ConnectionRecord", "ConversationRec", "InstructionRec", "SqlPairRec",
    "TurnRec", "question_key", "EventRecord", "LocalRepository", "Repository",
    "UsageTotals", "WorkspaceRecord", "create_store_engine", "migrate", "open_store",
]


def open_store(url: str) -> LocalRepository:
    """Open (and migrate) the store at ``url`` and make sure the default workspace exists."""
    engine = create_store_engine(url)
    migrate(engine)
    repo = LocalRepository(engine)
    repo.ensure_workspace(DEFAULT_WORKSPACE)
    return repo
