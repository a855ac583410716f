"""Plain records the store hands out. Callers never see SQLAlchemy objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class WorkspaceRecord:
    id: int
    name: str
    theme: dict = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class ConnectionRecord:
    id: int
    workspace_id: int
    name: str
    family: str
    url: str  # without password
    secret: str | None  # encrypted token, never plaintext
    options: dict = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class EventRecord:
    connection_id: int
    at: datetime
    kind: str
    ok: bool
    latency_ms: float | None = None
    rows: int | None = None
    bytes: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class UsageTotals:
    queries: int = 0
    rows: int = 0
    bytes: int = 0
    errors: int = 0


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target: str
    workspace_id: int | None
    outcome: str
    detail: dict
