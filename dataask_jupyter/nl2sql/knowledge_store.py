"""The :class:`~.knowledge.KnowledgeStore` backed by the metadata store (per workspace).

``%dataask teach`` / ``instruct`` / ``knowledge`` / ``forget`` and ``dataask teach`` ...
go through :class:`StoreKnowledge`; the :class:`~.pipeline.Asker` reads pairs and
instructions from it for every question (the offline engine reuses a close pair; the LLM
prompt gets the nearest pairs and the relevant instructions).
"""

from __future__ import annotations

from .knowledge import KnowledgeEntry, SqlPair

__all__ = ["StoreKnowledge"]


class StoreKnowledge:
    """Knowledge of each workspace kept in the metadata store.

    Parameters
    ----------
    repo
        A :class:`~dataask_jupyter.store.Repository` (local or, in team mode, remote).
    actor
        Who teaches (recorded with each entry and in the audit log).
    """

    def __init__(self, repo, actor: str = "") -> None:
        self.repo = repo
        self.actor = actor

    def _ws(self, workspace: str) -> int:
        return self.repo.get_workspace(workspace).id

    def sql_pairs(self, workspace: str) -> list[SqlPair]:
        return [SqlPair(p.question, p.sql, p.connection, p.id) for p in self.repo.sql_pairs(self._ws(workspace))]

    def instructions(self, workspace: str) -> list[str]:
        return [i.text for i in self.repo.instructions(self._ws(workspace))]

    def add_sql_pair(self, workspace: str, question: str, sql: str, connection: str | None = None) -> SqlPair:
        rec = self.repo.save_sql_pair(self._ws(workspace), question, sql, connection, self.actor)
        return SqlPair(rec.question, rec.sql, rec.connection, rec.id)

    def add_instruction(self, workspace: str, text: str) -> None:
        self.repo.add_instruction(self._ws(workspace), text, self.actor)

    def entries(self, workspace: str) -> list[KnowledgeEntry]:
        ws = self._ws(workspace)
        return ([KnowledgeEntry("instruction", i.id, i.text, created_by=i.created_by)
                 for i in self.repo.instructions(ws)]
                + [KnowledgeEntry("sql_pair", p.id, p.question, p.sql, p.connection, p.created_by)
                   for p in self.repo.sql_pairs(ws)])

    def remove(self, workspace: str, kind: str, entry_id: int) -> bool:
        return self.repo.remove_knowledge(self._ws(workspace), kind, int(entry_id), self.actor)
