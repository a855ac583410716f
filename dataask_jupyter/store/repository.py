"""The store's repository interface and its local (SQLAlchemy) implementation.

The rest of DataAsk talks to the metadata store only through :class:`Repository`, so a
team deployment can swap in a remote (HTTP) implementation that reaches the DataAsk Hub
service instead of opening the database itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import AlreadyExists, StoreUnavailable, WorkspaceNotFound, did_you_mean
from . import models as m
from .ask_store import AskStoreMixin, AskStoreProtocol
from .records import AuditRecord, ConnectionRecord, EventRecord, UsageTotals, WorkspaceRecord

DEFAULT_WORKSPACE = "default"
EVENTS_KEPT_PER_CONNECTION = 2000


class Repository(AskStoreProtocol, Protocol):
    def ensure_workspace(self, name: str, actor: str = "") -> WorkspaceRecord: ...
    def get_workspace(self, name: str) -> WorkspaceRecord: ...
    def list_workspaces(self) -> list[WorkspaceRecord]: ...
    def list_connections(self, workspace_id: int) -> list[ConnectionRecord]: ...
    def get_connection(self, workspace_id: int, name: str) -> ConnectionRecord | None: ...
    def save_connection(
        self, workspace_id: int, name: str, family: str, url: str, secret: str | None,
        options: dict, actor: str, replace: bool = False,
    ) -> ConnectionRecord: ...
    def remove_connection(self, workspace_id: int, name: str) -> bool: ...
    def record_event(self, connection_id: int, kind: str, ok: bool, **fields) -> None: ...
    def recent_events(self, connection_id: int, limit: int = 100) -> list[EventRecord]: ...
    def usage_totals(self, connection_id: int) -> UsageTotals: ...
    def audit(self, actor: str, action: str, **fields) -> None: ...
    def list_audit(self, limit: int = 100, workspace_id: int | None = None) -> list[AuditRecord]: ...
    def rewrite_secrets(self, fn: Callable[[str, str], str | None]) -> int: ...


def _ws(row: m.Workspace) -> WorkspaceRecord:
    return WorkspaceRecord(id=row.id, name=row.name, theme=dict(row.theme or {}), created_at=row.created_at)


def _conn(row: m.Connection) -> ConnectionRecord:
    return ConnectionRecord(
        id=row.id, workspace_id=row.workspace_id, name=row.name, family=row.family, url=row.url,
        secret=row.secret, options=dict(row.options or {}), created_at=row.created_at,
        updated_at=row.updated_at,
    )


class LocalRepository(AskStoreMixin):
    """Repository over a SQLAlchemy engine (SQLite in WAL mode or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._inserts_since_prune = 0

    def _session(self) -> Session:
        return self._sessions()

    def _run(self, fn):
        try:
            with self._session() as s, s.begin():
                return fn(s)
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                raise StoreUnavailable("The metadata store is busy; try again.") from None
            raise StoreUnavailable("The DataAsk metadata store is unreachable; try again shortly.") from None

    # workspaces ---------------------------------------------------------------------------
    def ensure_workspace(self, name: str, actor: str = "") -> WorkspaceRecord:
        def go(s: Session):
            row = s.scalar(select(m.Workspace).where(m.Workspace.name == name))
            if row is None:
                row = m.Workspace(name=name, theme={}, created_by=actor)
                s.add(row)
                s.flush()
            return _ws(row)

        try:
            return self._run(go)
        except IntegrityError:  # created concurrently by another process
            return self.get_workspace(name)

    def get_workspace(self, name: str) -> WorkspaceRecord:
        def go(s: Session):
            row = s.scalar(select(m.Workspace).where(m.Workspace.name == name))
            if row is None:
                names = s.scalars(select(m.Workspace.name)).all()
                raise WorkspaceNotFound(
                    f"No workspace named '{name}'.{did_you_mean(name, names)}",
                    hint=f"Existing workspaces: {', '.join(sorted(names)) or 'none'}.",
                )
            return _ws(row)

        return self._run(go)

    def list_workspaces(self) -> list[WorkspaceRecord]:
        return self._run(lambda s: [_ws(r) for r in s.scalars(select(m.Workspace).order_by(m.Workspace.name))])

    # connections --------------------------------------------------------------------------
    def list_connections(self, workspace_id: int) -> list[ConnectionRecord]:
        q = select(m.Connection).where(m.Connection.workspace_id == workspace_id).order_by(m.Connection.name)
        return self._run(lambda s: [_conn(r) for r in s.scalars(q)])

    def get_connection(self, workspace_id: int, name: str) -> ConnectionRecord | None:
        q = select(m.Connection).where(m.Connection.workspace_id == workspace_id, m.Connection.name == name)
        return self._run(lambda s: (lambda r: _conn(r) if r else None)(s.scalar(q)))

    def save_connection(self, workspace_id, name, family, url, secret, options, actor, replace=False):
        def go(s: Session):
            row = s.scalar(
                select(m.Connection).where(m.Connection.workspace_id == workspace_id, m.Connection.name == name)
            )
            if row is not None and not replace:
                raise AlreadyExists(
                    f"A connection named '{name}' already exists.",
                    hint=f"Remove it first (dataask connection remove {name}) or pass --replace.",
                )
            if row is None:
                row = m.Connection(workspace_id=workspace_id, name=name, created_by=actor)
                s.add(row)
            row.family, row.url, row.secret, row.options = family, url, secret, dict(options)
            row.updated_at = m.utcnow()
            s.flush()
            return _conn(row)

        try:
            return self._run(go)
        except IntegrityError:
            raise AlreadyExists(f"A connection named '{name}' already exists.") from None

    def remove_connection(self, workspace_id: int, name: str) -> bool:
        def go(s: Session):
            row = s.scalar(
                select(m.Connection).where(m.Connection.workspace_id == workspace_id, m.Connection.name == name)
            )
            if row is None:
                return False
            s.execute(delete(m.ConnectionEvent).where(m.ConnectionEvent.connection_id == row.id))
            s.delete(row)
            return True

        return self._run(go)

    # events -------------------------------------------------------------------------------
    def record_event(self, connection_id: int, kind: str, ok: bool, **fields) -> None:
        def go(s: Session):
            s.add(m.ConnectionEvent(connection_id=connection_id, kind=kind, ok=ok, **fields))

        self._run(go)
        self._inserts_since_prune += 1
        if self._inserts_since_prune >= 200:
            self._inserts_since_prune = 0
            self._prune_events(connection_id)

    def _prune_events(self, connection_id: int) -> None:
        def go(s: Session):
            cutoff = s.scalar(
                select(m.ConnectionEvent.id)
                .where(m.ConnectionEvent.connection_id == connection_id)
                .order_by(m.ConnectionEvent.id.desc())
                .offset(EVENTS_KEPT_PER_CONNECTION)
                .limit(1)
            )
            if cutoff is not None:
                s.execute(
                    delete(m.ConnectionEvent).where(
                        m.ConnectionEvent.connection_id == connection_id,
                        m.ConnectionEvent.id <= cutoff,
                        m.ConnectionEvent.kind != "query",  # usage totals keep counting
                    )
                )

        self._run(go)

    def recent_events(self, connection_id: int, limit: int = 100) -> list[EventRecord]:
        q = (
            select(m.ConnectionEvent)
            .where(m.ConnectionEvent.connection_id == connection_id)
            .order_by(m.ConnectionEvent.id.desc())
            .limit(limit)
        )

        def go(s: Session):
            return [
                EventRecord(
                    connection_id=r.connection_id, at=r.at, kind=r.kind, ok=r.ok, latency_ms=r.latency_ms,
                    rows=r.rows, bytes=r.bytes, message=r.message,
                )
                for r in s.scalars(q)
            ]

        return self._run(go)

    def usage_totals(self, connection_id: int) -> UsageTotals:
        E = m.ConnectionEvent
        q = select(
            func.count(E.id).filter(E.kind == "query", E.ok.is_(True)),
            func.coalesce(func.sum(E.rows).filter(E.kind == "query"), 0),
            func.coalesce(func.sum(E.bytes).filter(E.kind == "query"), 0),
            func.count(E.id).filter(E.ok.is_(False)),
        ).where(E.connection_id == connection_id)

        def go(s: Session):
            q_, r_, b_, e_ = s.execute(q).one()
            return UsageTotals(queries=int(q_), rows=int(r_), bytes=int(b_), errors=int(e_))

        return self._run(go)

    # audit --------------------------------------------------------------------------------
    def audit(self, actor: str, action: str, **fields) -> None:
        fields.setdefault("detail", {})
        self._run(lambda s: s.add(m.AuditEntry(actor=actor, action=action, **fields)))

    def list_audit(self, limit: int = 100, workspace_id: int | None = None) -> list[AuditRecord]:
        q = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)
        if workspace_id is not None:
            q = q.where(m.AuditEntry.workspace_id == workspace_id)

        def go(s: Session):
            return [
                AuditRecord(
                    id=r.id, at=r.at, actor=r.actor, action=r.action, target_type=r.target_type,
                    target=r.target, workspace_id=r.workspace_id, outcome=r.outcome, detail=dict(r.detail or {}),
                )
                for r in s.scalars(q)
            ]

        return self._run(go)

    # key rotation -------------------------------------------------------------------------
    def rewrite_secrets(self, fn: Callable[[str, str], str | None]) -> int:
        """Apply ``fn(connection_name, token) -> new_token | None`` to every stored secret in ONE
        transaction. If ``fn`` raises for any row, nothing is committed."""

        def go(s: Session):
            changed = 0
            rows = s.scalars(select(m.Connection).where(m.Connection.secret.is_not(None)).order_by(m.Connection.id))
            for row in rows:
                new = fn(row.name, row.secret)
                if new is not None and new != row.secret:
                    row.secret = new
                    changed += 1
            return changed

        return self._run(go)
