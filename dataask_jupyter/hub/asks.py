"""``%%ask`` conversations and workspace knowledge, served to team-mode kernels.

Every call takes the :class:`~dataask_jupyter.dashboards.Grant` of the route's role check
(viewer to read and to ask, editor to teach) and acts as the grant's user: a kernel cannot
write turns as someone else or append to another user's conversation. Knowledge changes
are audited by the store in the same transaction.
"""

from __future__ import annotations

from ..errors import NotFound
from ..safety import assert_read_only
from .models import (
    ConversationIn,
    ConversationOut,
    ConversationPage,
    HistoryFilter,
    InstructionIn,
    InstructionOut,
    KnowledgeOut,
    SqlPairIn,
    SqlPairOut,
    TurnIn,
    TurnOut,
    TurnPage,
)

__all__ = ["AskRecords"]

_KINDS = {"i": "instruction", "p": "sql_pair"}


def _turn(rec) -> TurnOut:
    return TurnOut.model_validate(rec)


class AskRecords:
    """Conversations and knowledge of the grant's workspace, for the grant's user.

    Parameters
    ----------
    repo
        The service's store (:class:`~dataask_jupyter.store.LocalRepository`).
    connections
        The service's :class:`~dataask_jupyter.connections.ConnectionManager`: a taught
        pair's connection must exist in the workspace, and its SQL passes the guard in
        that connection's dialect.
    """

    def __init__(self, repo, connections) -> None:
        self.repo = repo
        self.connections = connections

    # -- conversations ---------------------------------------------------------------------
    def conversations(self, g, page: ConversationPage) -> list[ConversationOut]:
        """The caller's conversations of the workspace, most recently used first."""
        recs = self.repo.conversations(g.workspace.id, g.actor, page.limit)
        return [ConversationOut.model_validate(r) for r in recs]

    def start(self, g, body: ConversationIn) -> ConversationOut:
        return ConversationOut.model_validate(self.repo.start_conversation(g.workspace.id, g.actor, body.title))

    def _conversation(self, g, conversation_id: int, *, own: bool):
        rec = self.repo.conversation(conversation_id)
        if rec is None or rec.workspace_id != g.workspace.id or (own and rec.username != g.actor):
            raise NotFound("No such conversation in this workspace (or it is not yours).")
        return rec

    def turns(self, g, conversation_id: int, page: TurnPage) -> list[TurnOut]:
        """The last ``page.limit`` turns of a conversation of the workspace, oldest first."""
        self._conversation(g, conversation_id, own=False)
        return [_turn(t) for t in self.repo.turns(conversation_id, page.limit)]

    def add_turn(self, g, conversation_id: int, body: TurnIn) -> TurnOut:
        """Append an answered question to one of the caller's own conversations."""
        self._conversation(g, conversation_id, own=True)
        return _turn(self.repo.add_turn(
            conversation_id, username=g.actor, question=body.question, sql=body.sql, engine=body.engine,
            federated=body.federated, connections=list(body.connections), intent=body.intent,
            row_count=body.row_count, timings=dict(body.timings), chart=body.chart))

    def history(self, g, query: HistoryFilter) -> list[TurnOut]:
        """Recent questions of the workspace, newest first (the caller's own unless ``everyone``)."""
        who = None if query.everyone else g.actor
        return [_turn(t) for t in self.repo.recent_turns(g.workspace.id, query.limit, who)]

    # -- knowledge -------------------------------------------------------------------------
    def knowledge(self, g) -> KnowledgeOut:
        ws = g.workspace.id
        return KnowledgeOut(instructions=[InstructionOut.model_validate(i) for i in self.repo.instructions(ws)],
                            sql_pairs=[SqlPairOut.model_validate(p) for p in self.repo.sql_pairs(ws)])

    def instruct(self, g, body: InstructionIn) -> InstructionOut:
        return InstructionOut.model_validate(self.repo.add_instruction(g.workspace.id, body.text, g.actor))

    def teach(self, g, body: SqlPairIn) -> SqlPairOut:
        """Store a question/SQL pair after the read-only guard (the kernel also checked the schema)."""
        dialect = self.connections.dialect(body.connection, g.workspace.name) if body.connection else "duckdb"
        assert_read_only(body.sql, dialect=dialect)
        rec = self.repo.save_sql_pair(g.workspace.id, body.question, body.sql, body.connection, g.actor)
        return SqlPairOut.model_validate(rec)

    def forget(self, g, ref: str) -> None:
        """Remove ``i<N>`` (an instruction) or ``p<N>`` (a SQL pair) of the workspace."""
        kind = _KINDS[ref[0]]
        if not self.repo.remove_knowledge(g.workspace.id, kind, int(ref[1:]), g.actor):
            raise NotFound(f"This workspace has no {kind.replace('_', ' ')} {ref}.")
