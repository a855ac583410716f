"""SQLAlchemy tables of ``%%ask``: conversations, their turns, and workspace knowledge
(instructions and question/SQL pairs). Only ``store/`` imports this module.

Never row data or secrets: a turn holds the question, the SQL, the engine, where it ran,
the row count, timings and a chart template without data values.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow


class AskConversation(Base):
    """A run of questions by one user in one workspace (follow-ups build on it)."""

    __tablename__ = "ask_conversations"
    __table_args__ = (Index("ix_ask_conversations_ws_user", "workspace_id", "username", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AskTurn(Base):
    """One answered question of a conversation."""

    __tablename__ = "ask_turns"
    __table_args__ = (Index("ix_ask_turns_ws_created", "workspace_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("ask_conversations.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    sql: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(200))
    federated: Mapped[bool] = mapped_column(Boolean, default=False)
    connections: Mapped[list] = mapped_column(JSON, default=list)
    intent: Mapped[str] = mapped_column(String(20), default="data")
    row_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    chart: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KnowledgeInstruction(Base):
    """``%dataask instruct "revenue means sum(quantity*unit_price)"``."""

    __tablename__ = "knowledge_instructions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KnowledgeSqlPair(Base):
    """``%dataask teach "question" SQL``: one pair per normalized question and workspace."""

    __tablename__ = "knowledge_sql_pairs"
    __table_args__ = (UniqueConstraint("workspace_id", "question_key", name="uq_knowledge_sql_pairs_question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    question_key: Mapped[str] = mapped_column(String(400))
    sql: Mapped[str] = mapped_column(Text)
    connection: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
