"""Conversations of ``%%ask`` and workspace knowledge in the SQL store.

:class:`AskStoreProtocol` is the part of the repository interface that the question
pipeline uses; :class:`AskStoreMixin` implements it for :class:`~.repository.LocalRepository`
(a remote implementation can serve the same calls over HTTP in team mode). Every
mutation of knowledge writes an audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import ask_models as am
from . import models as m
from .ask_records import ConversationRec, InstructionRec, SqlPairRec, TurnRec

MAX_QUESTION = 4000
MAX_SQL = 100_000
MAX_INSTRUCTION = 4000
KEY_LENGTH = 400


def question_key(question: str) -> str:
    """The normalized form two questions share when they are "the same" question."""
    return " ".join(question.lower().split()).rstrip("?.! ")[:KEY_LENGTH]


class AskStoreProtocol(Protocol):
    def start_conversation(self, workspace_id: int, username: str, title: str = "") -> ConversationRec: ...
    def latest_conversation(self, workspace_id: int, username: str) -> ConversationRec | None: ...
    def add_turn(self, conversation_id: int, *, username: str, question: str, sql: str, engine: str,
                 federated: bool, connections: Sequence[str], intent: str, row_count: int | None,
                 timings: dict, chart: dict | None) -> TurnRec: ...
    def turns(self, conversation_id: int, limit: int = 50) -> list[TurnRec]: ...
    def recent_turns(self, workspace_id: int, limit: int = 20, username: str | None = None) -> list[TurnRec]: ...
    def instructions(self, workspace_id: int) -> list[InstructionRec]: ...
    def add_instruction(self, workspace_id: int, text: str, actor: str) -> InstructionRec: ...
    def sql_pairs(self, workspace_id: int) -> list[SqlPairRec]: ...
    def save_sql_pair(self, workspace_id: int, question: str, sql: str, connection: str | None,
                      actor: str) -> SqlPairRec: ...
    def remove_knowledge(self, workspace_id: int, kind: str, entry_id: int, actor: str) -> bool: ...


def _conversation(r: am.AskConversation) -> ConversationRec:
    return ConversationRec(id=r.id, workspace_id=r.workspace_id, username=r.username, title=r.title,
                           created_at=r.created_at, updated_at=r.updated_at)


def _turn(r: am.AskTurn) -> TurnRec:
    return TurnRec(id=r.id, conversation_id=r.conversation_id, workspace_id=r.workspace_id, username=r.username,
                   question=r.question, sql=r.sql, engine=r.engine, federated=bool(r.federated),
                   connections=list(r.connections or []), intent=r.intent, row_count=r.row_count,
                   timings=dict(r.timings or {}), chart=r.chart, created_at=r.created_at)


def _instruction(r: am.KnowledgeInstruction) -> InstructionRec:
    return InstructionRec(id=r.id, workspace_id=r.workspace_id, text=r.text, created_by=r.created_by,
                          created_at=r.created_at)


def _pair(r: am.KnowledgeSqlPair) -> SqlPairRec:
    return SqlPairRec(id=r.id, workspace_id=r.workspace_id, question=r.question, sql=r.sql,
                      connection=r.connection, created_by=r.created_by, created_at=r.created_at)


def _audit(s: Session, actor: str, action: str, target, workspace_id: int, detail: dict | None = None) -> None:
    s.add(m.AuditEntry(actor=actor, action=action, target_type="knowledge", target=str(target)[:400],
                       workspace_id=workspace_id, outcome="ok", detail=detail or {}))


def _bounded(value: str, limit: int, what: str) -> str:
    from ..errors import UsageError

    value = (value or "").strip()
    if not value:
        raise UsageError(f"The {what} is empty.")
    if len(value) > limit or "\x00" in value:
        raise UsageError(f"The {what} is too long (at most {limit:,} characters) or holds NUL characters.")
    return value


class AskStoreMixin:
    """:class:`AskStoreProtocol` over ``self._run(fn(session))`` (see ``LocalRepository``)."""

    # -- conversations -----------------------------------------------------------------------
    def start_conversation(self, workspace_id: int, username: str, title: str = "") -> ConversationRec:
        def go(s: Session):
            row = am.AskConversation(workspace_id=workspace_id, username=username, title=title[:400])
            s.add(row)
            s.flush()
            return _conversation(row)

        return self._run(go)

    def latest_conversation(self, workspace_id: int, username: str) -> ConversationRec | None:
        found = self.conversations(workspace_id, username, 1)
        return found[0] if found else None

    def conversations(self, workspace_id: int, username: str, limit: int = 20) -> list[ConversationRec]:
        """The user's conversations of a workspace, most recently used first."""
        q = (select(am.AskConversation)
             .where(am.AskConversation.workspace_id == workspace_id, am.AskConversation.username == username)
             .order_by(am.AskConversation.updated_at.desc(), am.AskConversation.id.desc()).limit(max(1, int(limit))))
        return self._run(lambda s: [_conversation(r) for r in s.scalars(q)])

    def conversation(self, conversation_id: int) -> ConversationRec | None:
        """One conversation by id (``None`` if unknown)."""
        return self._run(lambda s: (lambda r: _conversation(r) if r is not None else None)(
            s.get(am.AskConversation, int(conversation_id))))

    def add_turn(self, conversation_id, *, username, question, sql, engine, federated, connections, intent,
                 row_count, timings, chart) -> TurnRec:
        question = _bounded(question, MAX_QUESTION, "question")
        sql = _bounded(sql, MAX_SQL, "SQL")

        def go(s: Session):
            conv = s.get(am.AskConversation, conversation_id)
            if conv is None:
                from ..errors import NotFound

                raise NotFound("No such conversation.")
            now = m.utcnow()
            row = am.AskTurn(
                conversation_id=conversation_id, workspace_id=conv.workspace_id, username=username,
                question=question, sql=sql, engine=engine[:200], federated=bool(federated),
                connections=list(connections), intent=intent[:20], row_count=row_count,
                timings={k: round(float(v), 6) for k, v in (timings or {}).items()}, chart=chart, created_at=now)
            s.add(row)
            if not conv.title:
                conv.title = question[:400]
            conv.updated_at = now
            s.flush()
            return _turn(row)

        return self._run(go)

    def turns(self, conversation_id: int, limit: int = 50) -> list[TurnRec]:
        """The last ``limit`` turns of a conversation, oldest first."""
        q = (select(am.AskTurn).where(am.AskTurn.conversation_id == conversation_id)
             .order_by(am.AskTurn.id.desc()).limit(limit))
        return self._run(lambda s: [_turn(r) for r in s.scalars(q)][::-1])

    def recent_turns(self, workspace_id: int, limit: int = 20, username: str | None = None) -> list[TurnRec]:
        """The ``limit`` most recent questions of a workspace, newest first."""
        q = select(am.AskTurn).where(am.AskTurn.workspace_id == workspace_id)
        if username is not None:
            q = q.where(am.AskTurn.username == username)
        q = q.order_by(am.AskTurn.id.desc()).limit(max(1, int(limit)))
        return self._run(lambda s: [_turn(r) for r in s.scalars(q)])

    # -- knowledge ---------------------------------------------------------------------------
    def instructions(self, workspace_id: int) -> list[InstructionRec]:
        q = (select(am.KnowledgeInstruction).where(am.KnowledgeInstruction.workspace_id == workspace_id)
             .order_by(am.KnowledgeInstruction.id))
        return self._run(lambda s: [_instruction(r) for r in s.scalars(q)])

    def add_instruction(self, workspace_id: int, text: str, actor: str) -> InstructionRec:
        text = _bounded(text, MAX_INSTRUCTION, "instruction")

        def go(s: Session):
            row = am.KnowledgeInstruction(workspace_id=workspace_id, text=text, created_by=actor)
            s.add(row)
            s.flush()
            _audit(s, actor, "knowledge.instruct", f"instruction:{row.id}", workspace_id)
            return _instruction(row)

        return self._run(go)

    def sql_pairs(self, workspace_id: int) -> list[SqlPairRec]:
        q = (select(am.KnowledgeSqlPair).where(am.KnowledgeSqlPair.workspace_id == workspace_id)
             .order_by(am.KnowledgeSqlPair.id))
        return self._run(lambda s: [_pair(r) for r in s.scalars(q)])

    def save_sql_pair(self, workspace_id: int, question: str, sql: str, connection: str | None,
                      actor: str) -> SqlPairRec:
        """Store a pair; a pair with the same (normalized) question is replaced."""
        question = _bounded(question, MAX_QUESTION, "question")
        sql = _bounded(sql, MAX_SQL, "SQL").rstrip(";").strip()
        key = question_key(question)

        def go(s: Session):
            row = s.scalar(select(am.KnowledgeSqlPair).where(am.KnowledgeSqlPair.workspace_id == workspace_id,
                                                             am.KnowledgeSqlPair.question_key == key))
            replaced = row is not None
            if row is None:
                row = am.KnowledgeSqlPair(workspace_id=workspace_id, question_key=key, created_by=actor)
                s.add(row)
            row.question, row.sql, row.connection = question, sql, connection
            row.created_at = m.utcnow()
            s.flush()
            _audit(s, actor, "knowledge.teach", f"sql_pair:{row.id}", workspace_id, {"replaced": replaced})
            return _pair(row)

        return self._run(go)

    def remove_knowledge(self, workspace_id: int, kind: str, entry_id: int, actor: str) -> bool:
        """Remove an instruction (``kind="instruction"``) or a pair (``kind="sql_pair"``)."""
        model = {"instruction": am.KnowledgeInstruction, "sql_pair": am.KnowledgeSqlPair}[kind]

        def go(s: Session):
            gone = s.execute(delete(model).where(model.workspace_id == workspace_id, model.id == int(entry_id)))
            if gone.rowcount:
                _audit(s, actor, f"knowledge.remove_{kind}", f"{kind}:{entry_id}", workspace_id)
            return bool(gone.rowcount)

        return self._run(go)

    def knowledge_counts(self, workspace_id: int) -> tuple[int, int]:
        """``(instructions, sql_pairs)`` of a workspace."""
        def go(s: Session):
            i = s.scalar(select(func.count(am.KnowledgeInstruction.id))
                         .where(am.KnowledgeInstruction.workspace_id == workspace_id))
            p = s.scalar(select(func.count(am.KnowledgeSqlPair.id))
                         .where(am.KnowledgeSqlPair.workspace_id == workspace_id))
            return int(i or 0), int(p or 0)

        return self._run(go)


__all__ = ["AskStoreMixin", "AskStoreProtocol", "question_key"]
