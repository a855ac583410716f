"""The repository interface over the DataAsk Hub service's REST API (team-mode kernels).

A team-mode kernel never opens the shared store or the key: workspace lookups, connection
records (never secrets), ``%%ask`` conversations and turns, and workspace knowledge are
calls to the Hub service with the user's token (:class:`~dataask_jupyter.hub_client.HubClient`).
The service checks the user's role on every call, writes as that user whatever name the
kernel passes (SECURITY 28), and audits. Connection changes, events and audit rows are the
service's business: here they are refused or no-ops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from ..errors import NotFound, UsageError, WorkspaceNotFound, did_you_mean
from .ask_records import ConversationRec, InstructionRec, SqlPairRec, TurnRec
from .records import AuditRecord, ConnectionRecord, EventRecord, UsageTotals, WorkspaceRecord

__all__ = ["RemoteRepository"]

WORKSPACES_TTL = 60.0  # seconds a workspace list is reused (ids never change; membership may)


def _when(value) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _workspace(d: dict) -> WorkspaceRecord:
    return WorkspaceRecord(id=int(d["id"]), name=d["name"], theme=dict(d.get("theme") or {}),
                           created_at=_when(d.get("created_at")))


def _conversation(d: dict) -> ConversationRec:
    return ConversationRec(id=int(d["id"]), workspace_id=int(d["workspace_id"]), username=d["username"],
                           title=d.get("title") or "", created_at=_when(d.get("created_at")),
                           updated_at=_when(d.get("updated_at")))


def _turn(d: dict) -> TurnRec:
    return TurnRec(id=int(d["id"]), conversation_id=int(d["conversation_id"]), workspace_id=int(d["workspace_id"]),
                   username=d["username"], question=d["question"], sql=d["sql"], engine=d.get("engine") or "",
                   federated=bool(d.get("federated")), connections=list(d.get("connections") or []),
                   intent=d.get("intent") or "data", row_count=d.get("row_count"), timings=dict(d.get("timings") or {}),
                   chart=d.get("chart"), created_at=_when(d.get("created_at")))


def _instruction(d: dict) -> InstructionRec:
    return InstructionRec(id=int(d["id"]), workspace_id=int(d["workspace_id"]), text=d["text"],
                          created_by=d.get("created_by") or "", created_at=_when(d.get("created_at")))


def _pair(d: dict) -> SqlPairRec:
    return SqlPairRec(id=int(d["id"]), workspace_id=int(d["workspace_id"]), question=d["question"], sql=d["sql"],
                      connection=d.get("connection"), created_by=d.get("created_by") or "",
                      created_at=_when(d.get("created_at")))


def connection_record(workspace_id: int, d: dict) -> ConnectionRecord:
    """A record from the service's connection JSON: masked URL, no secret, no id."""
    return ConnectionRecord(id=0, workspace_id=workspace_id, name=d["name"], family=d["family"], url=d["url"],
                            secret=None, options={}, created_at=_when(d.get("created_at")),
                            updated_at=_when(d.get("updated_at") or d.get("created_at")))


class RemoteRepository:
    """:class:`~dataask_jupyter.store.Repository` over the Hub service (see module doc).

    Parameters
    ----------
    client
        A :class:`~dataask_jupyter.hub_client.HubClient` with the user's token.
    """

    def __init__(self, client) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._workspaces: tuple[float, list[WorkspaceRecord]] | None = None
        self._conversation_ws: dict[int, int] = {}  # conversation id -> workspace id, as seen

    # -- workspaces ------------------------------------------------------------------------
    def list_workspaces(self, *, fresh: bool = False) -> list[WorkspaceRecord]:
        """The workspaces the user is a member of (cached for ``WORKSPACES_TTL`` seconds)."""
        with self._lock:
            cached = self._workspaces
        if cached is not None and not fresh and time.monotonic() - cached[0] < WORKSPACES_TTL:
            return list(cached[1])
        found = [_workspace(d) for d in self.client.call("GET", "workspaces")["items"]]
        with self._lock:
            self._workspaces = (time.monotonic(), found)
        return list(found)

    def get_workspace(self, name: str) -> WorkspaceRecord:
        for fresh in (False, True):
            for ws in self.list_workspaces(fresh=fresh):
                if ws.name == name:
                    return ws
        names = [w.name for w in self.list_workspaces()]
        raise WorkspaceNotFound(
            f"No workspace named '{name}' (or you are not a member of it).{did_you_mean(name, names)}",
            hint=f"Workspaces you can use: {', '.join(sorted(names)) or 'none'}; a workspace admin can add you.")

    def ensure_workspace(self, name: str, actor: str = "") -> WorkspaceRecord:
        """The workspace ``name``; a kernel never creates one (the service's API does, explicitly)."""
        return self.get_workspace(name)

    def workspace_name(self, workspace_id: int) -> str:
        for fresh in (False, True):
            for ws in self.list_workspaces(fresh=fresh):
                if ws.id == workspace_id:
                    return ws.name
        raise WorkspaceNotFound("No such workspace (or you are not a member of it).")

    # -- connections (records only: never a secret) ----------------------------------------
    def connection_rows(self, workspace: str) -> list[dict]:
        """The service's JSON of every connection of ``workspace`` (masked URLs, health, usage)."""
        return self.client.call("GET", "connections", params={"workspace": workspace})["connections"]

    def list_connections(self, workspace_id: int) -> list[ConnectionRecord]:
        rows = self.connection_rows(self.workspace_name(workspace_id))
        return [connection_record(workspace_id, d) for d in rows]

    def get_connection(self, workspace_id: int, name: str) -> ConnectionRecord | None:
        return next((r for r in self.list_connections(workspace_id) if r.name == name), None)

    def save_connection(self, *args, **kwargs) -> ConnectionRecord:
        raise _service_only("Connections are saved by the DataAsk Hub service (it tests and encrypts them)")

    def remove_connection(self, workspace_id: int, name: str) -> bool:
        raise _service_only("Connections are removed through the DataAsk Hub service")

    def rewrite_secrets(self, fn: Callable[[str, str], str | None]) -> int:
        raise _service_only("Key rotation runs where the key is: on the DataAsk Hub service (dataask rotate-key)")

    # -- events and audit: recorded by the service -------------------------------------------
    def record_event(self, connection_id: int, kind: str, ok: bool, **fields) -> None:
        """No-op: the service records usage and health of the queries it runs."""

    def recent_events(self, connection_id: int, limit: int = 100) -> list[EventRecord]:
        return []

    def usage_totals(self, connection_id: int) -> UsageTotals:
        return UsageTotals()

    def audit(self, actor: str, action: str, **fields) -> None:
        """No-op: the service audits what it does, as the token's user."""

    def list_audit(self, limit: int = 100, workspace_id: int | None = None) -> list[AuditRecord]:
        if workspace_id is None:
            raise UsageError("From a team-mode kernel the audit log is read per workspace (admins only).")
        items = self.client.call("GET", f"workspaces/{workspace_id}/audit", params={"limit": limit})["items"]
        return [AuditRecord(id=d["id"], at=_when(d["at"]), actor=d["actor"], action=d["action"],
                            target_type=d.get("target_type") or "", target=d.get("target") or "",
                            workspace_id=d.get("workspace_id"), outcome=d.get("outcome") or "",
                            detail=dict(d.get("detail") or {})) for d in items]

    # -- conversations ---------------------------------------------------------------------
    def _seen(self, rec: ConversationRec) -> ConversationRec:
        self._conversation_ws[rec.id] = rec.workspace_id
        return rec

    def _turns_path(self, conversation_id: int) -> str:
        ws = self._conversation_ws.get(int(conversation_id))
        if ws is None:
            raise NotFound(f"Conversation {conversation_id} was not opened in this kernel.",
                           hint="Open it with %ask (the latest conversation) or start one with %%ask --new.")
        return f"workspaces/{ws}/conversations/{int(conversation_id)}/turns"

    def start_conversation(self, workspace_id: int, username: str, title: str = "") -> ConversationRec:
        """A new conversation of the token's user (``username`` is the service's to decide)."""
        d = self.client.call("POST", f"workspaces/{workspace_id}/conversations", {"title": title[:400]})
        return self._seen(_conversation(d))

    def latest_conversation(self, workspace_id: int, username: str) -> ConversationRec | None:
        items = self.client.call("GET", f"workspaces/{workspace_id}/conversations", params={"limit": 1})["items"]
        return self._seen(_conversation(items[0])) if items else None

    def add_turn(self, conversation_id: int, *, username: str, question: str, sql: str, engine: str,
                 federated: bool, connections: Sequence[str], intent: str, row_count: int | None,
                 timings: dict, chart: dict | None) -> TurnRec:
        body = {"question": question, "sql": sql, "engine": engine[:200], "federated": bool(federated),
                "connections": list(connections), "intent": intent[:20], "row_count": row_count,
                "timings": {k: round(float(v), 6) for k, v in (timings or {}).items()}, "chart": chart}
        return _turn(self.client.call("POST", self._turns_path(conversation_id), body))

    def turns(self, conversation_id: int, limit: int = 50) -> list[TurnRec]:
        items = self.client.call("GET", self._turns_path(conversation_id), params={"limit": max(1, int(limit))})
        return [_turn(d) for d in items["items"]]

    def recent_turns(self, workspace_id: int, limit: int = 20, username: str | None = None) -> list[TurnRec]:
        """Recent questions: the token user's own, or everyone's when ``username`` is ``None``."""
        params = {"limit": max(1, int(limit)), "everyone": "true" if username is None else "false"}
        return [_turn(d) for d in self.client.call("GET", f"workspaces/{workspace_id}/history", params=params)["items"]]

    # -- knowledge ---------------------------------------------------------------------------
    def _knowledge(self, workspace_id: int) -> dict:
        return self.client.call("GET", f"workspaces/{workspace_id}/knowledge")

    def instructions(self, workspace_id: int) -> list[InstructionRec]:
        return [_instruction(d) for d in self._knowledge(workspace_id)["instructions"]]

    def sql_pairs(self, workspace_id: int) -> list[SqlPairRec]:
        return [_pair(d) for d in self._knowledge(workspace_id)["sql_pairs"]]

    def knowledge_counts(self, workspace_id: int) -> tuple[int, int]:
        k = self._knowledge(workspace_id)
        return len(k["instructions"]), len(k["sql_pairs"])

    def add_instruction(self, workspace_id: int, text: str, actor: str) -> InstructionRec:
        return _instruction(self.client.call("POST", f"workspaces/{workspace_id}/knowledge/instructions",
                                             {"text": text}))

    def save_sql_pair(self, workspace_id: int, question: str, sql: str, connection: str | None,
                      actor: str) -> SqlPairRec:
        body = {"question": question, "sql": sql.strip().rstrip(";").strip(), "connection": connection}
        return _pair(self.client.call("POST", f"workspaces/{workspace_id}/knowledge/sql_pairs", body))

    def remove_knowledge(self, workspace_id: int, kind: str, entry_id: int, actor: str) -> bool:
        ref = {"instruction": "i", "sql_pair": "p"}[kind] + str(int(entry_id))
        try:
            self.client.call("DELETE", f"workspaces/{workspace_id}/knowledge/{ref}")
        except NotFound:
            return False
        return True


def _service_only(what: str) -> UsageError:
    return UsageError(f"{what}, not by a team-mode kernel.",
                      hint="Use %dataask connect / remove (they call the service) or ask a workspace admin.")
