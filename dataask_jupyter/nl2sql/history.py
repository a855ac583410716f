"""Conversations kept in the metadata store, so follow-ups survive a kernel restart.

:class:`ConversationStore` opens a user's latest conversation of a workspace (or a new
one) as a :class:`~.result.Conversation` whose answered turns are written to the store
as they happen: question, SQL, engine, where it ran, row count, timings and a chart
template (:func:`~.charts.chart_template`). Rows, insights and secrets are never stored.
Restored turns carry no engine state; the conversation rebuilds it from their text
(:class:`~.result.Replay`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from .charts import chart_template
from .result import AskResult, Conversation

__all__ = ["ConversationStore", "HistoryList", "KnowledgeList"]

RESTORED_TURNS = 20


class ConversationStore:
    """Conversations of ``%%ask`` per workspace and user, in a :class:`~dataask_jupyter.store.Repository`.

    Parameters
    ----------
    repo
        The metadata store (local or remote).
    user
        Who asks (``Settings.actor`` by default in the front doors).
    """

    def __init__(self, repo, user: str) -> None:
        self.repo = repo
        self.user = user

    def open(self, workspace: str, *, new: bool = False) -> Conversation:
        """The user's latest conversation in ``workspace`` with its recent turns, or a new one
        (created in the store with its first answered question)."""
        ws = self.repo.get_workspace(workspace).id
        conv = Conversation(workspace=workspace, asker=self.user, sink=self._save)
        rec = None if new else self.repo.latest_conversation(ws, self.user)
        if rec is not None:
            conv.id = rec.id
            for t in self.repo.turns(rec.id, RESTORED_TURNS):
                conv.restore(AskResult(question=t.question, sql=t.sql, federated=t.federated, engine=t.engine,
                                       connections=list(t.connections), chart=t.chart, intent=t.intent,
                                       timings=dict(t.timings)))
        return conv

    def _save(self, conv: Conversation, result: AskResult) -> None:
        if conv.id is None:
            ws = self.repo.get_workspace(conv.workspace).id
            conv.id = self.repo.start_conversation(ws, self.user, result.question[:400]).id
        self.repo.add_turn(
            conv.id, username=self.user, question=result.question, sql=result.sql, engine=result.engine,
            federated=result.federated, connections=list(result.connections), intent=result.intent,
            row_count=result.row_count if result.table is not None else None, timings=dict(result.timings),
            chart=chart_template(result.chart))

    def history(self, workspace: str, limit: int = 20, *, everyone: bool = False) -> HistoryList:
        """The ``limit`` most recent questions of ``workspace`` (the user's own unless ``everyone``)."""
        ws = self.repo.get_workspace(workspace).id
        return HistoryList(workspace, self.repo.recent_turns(ws, limit, None if everyone else self.user))


class HistoryList(list):
    """Recent questions with their SQL, newest first (a list of ``TurnRec``)."""

    def __init__(self, workspace: str, turns: Sequence) -> None:
        super().__init__(turns)
        self.workspace = workspace

    def to_dict(self) -> list[dict]:
        return [{"question": t.question, "sql": t.sql, "engine": t.engine, "federated": t.federated,
                 "connections": list(t.connections), "row_count": t.row_count, "user": t.username,
                 "asked_at": t.created_at.isoformat() if t.created_at else None} for t in self]

    def _text(self) -> str:
        if not self:
            return f"No questions asked yet in workspace '{self.workspace}'."
        out = []
        for i, t in enumerate(self, 1):
            when = t.created_at.strftime("%Y-%m-%d %H:%M") if t.created_at else ""
            where = " + ".join(t.connections) + (" (federated)" if t.federated else "")
            out.append(f"{i}. {t.question}  [{when} · {t.engine} · {where} · {t.row_count} rows]\n   {t.sql}")
        return "\n".join(out)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        e = html.escape
        if not self:
            return {"text/plain": self._text(), "text/html": f"<p>{e(self._text())}</p>"}
        items = "".join(
            f"<li><b>{e(t.question)}</b> <small>{e(t.engine)} · {e(' + '.join(t.connections))}"
            f"{' (federated)' if t.federated else ''} · {t.row_count} rows</small>"
            f"<pre><code class=\"language-sql\">{e(t.sql)}</code></pre></li>" for t in self)
        return {"text/plain": self._text(), "text/html": f"<ol class=\"dataask-history\">{items}</ol>"}


class KnowledgeList(list):
    """What a workspace taught: instructions and SQL pairs (``KnowledgeEntry``), with ids to remove them."""

    def __init__(self, workspace: str, entries: Sequence) -> None:
        super().__init__(entries)
        self.workspace = workspace

    def to_dict(self) -> list[dict]:
        return [e.to_dict() for e in self]

    def _text(self) -> str:
        if not self:
            return (f"Workspace '{self.workspace}' has no instructions or SQL pairs yet "
                    '(%dataask instruct "..." / %dataask teach "question" SQL).')
        lines = []
        for e in self:
            if e.kind == "instruction":
                lines.append(f"{e.ref}  instruction: {e.text}")
            else:
                on = f" (on {e.connection})" if e.connection else " (federated)"
                lines.append(f"{e.ref}  question: {e.text}{on}\n    {e.sql}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": self._text(), "text/html": f"<pre>{html.escape(self._text())}</pre>"}
