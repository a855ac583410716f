"""Plain records of workspace contents that the store hands out (never SQLAlchemy objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class WorkspaceRec:
    id: int
    name: str
    theme: dict = field(default_factory=dict)
    created_at: datetime | None = None
    created_by: str = ""


@dataclass(frozen=True)
class MemberRec:
    workspace_id: int
    kind: str
    name: str
    role: str
    added_by: str = ""
    added_at: datetime | None = None


@dataclass(frozen=True)
class FolderRec:
    id: int
    workspace_id: int
    name: str
    parent_id: int | None
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class GrantRec:
    dashboard_id: int
    kind: str
    name: str
    level: str
    granted_by: str = ""


@dataclass(frozen=True)
class DashboardRec:
    """A dashboard's current state. ``document`` (the full saved document: name,
    description, tags, folder_id, private, layout, widgets) is ``None`` in listings."""

    id: int
    workspace_id: int
    folder_id: int | None
    name: str
    description: str
    tags: list
    owner: str
    private: bool
    template: str
    version: int
    widget_count: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    document: dict | None = None


@dataclass(frozen=True)
class VersionRec:
    dashboard_id: int
    version: int
    author: str
    created_at: datetime | None
    message: str
    restored_from: int | None = None
    document: dict | None = None


@dataclass(frozen=True)
class DatasetRec:
    id: int
    workspace_id: int
    name: str
    description: str
    query: dict
    version: int
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class RecentRec:
    dashboard_id: int
    workspace_id: int
    name: str
    viewed_at: datetime


@dataclass(frozen=True)
class DashboardQuery:
    """Filters for listing dashboards (all optional; ``q`` matches the name, case-insensitive)."""

    workspace_ids: tuple[int, ...] | None = None
    dashboard_ids: tuple[int, ...] | None = None
    q: str | None = None
    tag: str | None = None
    folder_id: int | None = None
    owner: str | None = None
    limit: int = 500
    offset: int = 0


@dataclass(frozen=True)
class DashboardContext:
    """A dashboard with what decides a caller's access to it: the workspace, the caller's
    matching memberships ``(kind, name, role)`` and matching grants ``(kind, name, level)``."""

    dashboard: DashboardRec
    workspace: WorkspaceRec
    memberships: list = field(default_factory=list)
    grants: list = field(default_factory=list)
