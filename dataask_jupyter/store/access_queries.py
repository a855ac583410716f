"""Prebuilt Core statements for the hot read paths (every request's role check, listing
and loading dashboards). Built once with bind parameters so SQLAlchemy's compiled cache
is hit on every call, and run on a plain connection (no ORM session)."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, literal_column, or_, select, true, union_all

from . import models as m
from . import workspace_models as wm
from .workspace_records import DashboardRec, WorkspaceRec

W = m.Workspace.__table__
D = wm.Dashboard.__table__
M = wm.WorkspaceMember.__table__
P = wm.DashboardPermission.__table__
SUMMARY_COLUMNS = [c for c in D.c if c.name != "document"]


def principal_matches(kind_col, name_col):
    """``(kind, name)`` names the bound ``user`` or one of the bound ``groups``."""
    return or_(and_(kind_col == "user", name_col == bindparam("user")),
               and_(kind_col == "group", name_col.in_(bindparam("groups", expanding=True))))


WORKSPACE = select(W).where(W.c.id == bindparam("ws"))
# The workspace plus the caller's matching memberships in one round trip (one row per match,
# or one row with NULL member columns).
WORKSPACE_ACCESS = (
    select(W, M.c.kind.label("m_kind"), M.c.name.label("m_name"), M.c.role.label("m_role"))
    .select_from(W.outerjoin(M, and_(M.c.workspace_id == W.c.id, principal_matches(M.c.kind, M.c.name))))
    .where(W.c.id == bindparam("ws"))
)
WORKSPACE_ROLES = select(M.c.kind, M.c.name, M.c.role).where(M.c.workspace_id == bindparam("ws"),
                                                             principal_matches(M.c.kind, M.c.name))
ALL_ROLES = select(M.c.workspace_id, M.c.kind, M.c.name, M.c.role).where(principal_matches(M.c.kind, M.c.name))
WS_COLUMNS = [W.c.name.label("ws_name"), W.c.theme.label("ws_theme"), W.c.created_at.label("ws_created_at"),
              W.c.created_by.label("ws_created_by")]
# The caller's memberships in the dashboard's workspace ("m") and grants on the dashboard ("g").
ACCESS_ROWS = union_all(
    select(literal_column("'m'").label("a_src"), M.c.kind.label("a_kind"), M.c.name.label("a_name"),
           M.c.role.label("a_level"))
    .where(M.c.workspace_id == select(D.c.workspace_id).where(D.c.id == bindparam("id")).scalar_subquery(),
           principal_matches(M.c.kind, M.c.name)),
    select(literal_column("'g'"), P.c.kind, P.c.name, P.c.level)
    .where(P.c.dashboard_id == bindparam("id"), principal_matches(P.c.kind, P.c.name)),
).subquery("access_rows")


def _with_access(columns) -> object:
    """The dashboard, its workspace and the caller's memberships and grants in one round trip
    (one row per membership or grant, or one row with NULL ``a_*`` columns)."""
    return (select(*columns, *WS_COLUMNS, *ACCESS_ROWS.c)
            .select_from(D.join(W, W.c.id == D.c.workspace_id).outerjoin(ACCESS_ROWS, true()))
            .where(D.c.id == bindparam("id")))


DASHBOARD_ACCESS = _with_access([D])
DASHBOARD_ACCESS_LIGHT = _with_access(SUMMARY_COLUMNS)
F = wm.Folder.__table__
# Changes whenever anything a dashboard listing shows can have changed: saves bump versions,
# creates and deletes move the count and max id, deleting a folder re-parents its dashboards.
DASHBOARDS_STAMP = select(
    func.count(D.c.id), func.max(D.c.id), func.coalesce(func.sum(D.c.version), 0),
    select(func.count(F.c.id)).where(F.c.workspace_id == bindparam("ws")).scalar_subquery(),
).where(D.c.workspace_id == bindparam("ws"))


def workspace_rec(row) -> WorkspaceRec:
    return WorkspaceRec(id=row.id, name=row.name, theme=dict(row.theme or {}), created_at=row.created_at,
                        created_by=row.created_by or "")


def dashboard_rec(row, with_document: bool) -> DashboardRec:
    """A :class:`DashboardRec` from a Core row of ``dashboards`` (document optional)."""
    r = row._mapping
    document = None
    if with_document:
        document = {"name": r["name"], "description": r["description"], "tags": list(r["tags"] or []),
                    "folder_id": r["folder_id"], "private": r["private"], **(r["document"] or {})}
    return DashboardRec(
        id=r["id"], workspace_id=r["workspace_id"], folder_id=r["folder_id"], name=r["name"],
        description=r["description"], tags=list(r["tags"] or []), owner=r["owner"], private=r["private"],
        template=r["template"], version=r["version"], widget_count=r["widget_count"], created_at=r["created_at"],
        updated_at=r["updated_at"], updated_by=r["updated_by"], document=document,
    )


def context_workspace(row) -> WorkspaceRec:
    r = row._mapping
    return WorkspaceRec(id=r["workspace_id"], name=r["ws_name"], theme=dict(r["ws_theme"] or {}),
                        created_at=r["ws_created_at"], created_by=r["ws_created_by"] or "")
