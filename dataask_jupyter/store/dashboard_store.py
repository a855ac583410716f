"""Dashboards, their versions and per-dashboard grants in the SQL store.

Saving is a compare-and-swap on ``dashboards.version``: ``UPDATE ... WHERE id = :id AND
version = :base``. Exactly one of many concurrent saves of the same base version matches
the row; the others see zero rows and get :class:`~dataask_jupyter.errors.Conflict` with
nothing written. The new version row, the tags and the audit entry commit in the same
transaction as the document, so a crash (even ``SIGKILL``) leaves the last committed save.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, defer

from ..errors import Conflict, NotFound
from . import access_queries as aq
from . import models as m
from . import workspace_models as wm
from .workspace_records import DashboardContext, DashboardQuery, DashboardRec, GrantRec, VersionRec

DOC_COLUMNS = ("name", "description", "tags", "folder_id", "private")


class DashboardStoreProtocol(Protocol):
    def create_dashboard(self, workspace_id: int, doc: dict, owner: str, template: str, actor: str,
                         message: str = "", action: str = "dashboard.create",
                         detail: dict | None = None) -> DashboardRec: ...
    def dashboard(self, dashboard_id: int, with_document: bool = True) -> DashboardRec | None: ...
    def dashboard_context(self, dashboard_id: int, user: str, groups: Sequence[str],
                          with_document: bool = True) -> DashboardContext | None: ...
    def dashboards(self, query: DashboardQuery) -> list[DashboardRec]: ...
    def dashboards_stamp(self, workspace_id: int) -> tuple: ...
    def matching_grants(self, user: str, groups: Sequence[str],
                        dashboard_ids: Sequence[int] | None = None) -> dict[int, list[tuple]]: ...
    def save_dashboard(self, dashboard_id: int, base_version: int, doc: dict, actor: str, message: str = "",
                       action: str = "dashboard.save", restored_from: int | None = None,
                       detail: dict | None = None) -> DashboardRec: ...
    def delete_dashboard(self, dashboard_id: int, actor: str) -> None: ...
    def versions(self, dashboard_id: int, limit: int = 100, offset: int = 0) -> list[VersionRec]: ...
    def version(self, dashboard_id: int, version: int) -> VersionRec | None: ...
    def grants(self, dashboard_id: int) -> list[GrantRec]: ...
    def set_grant(self, dashboard_id: int, kind: str, name: str, level: str, actor: str) -> GrantRec: ...
    def remove_grant(self, dashboard_id: int, kind: str, name: str, actor: str) -> None: ...


def _principal_cond(col_kind, col_name, user: str, groups: Sequence[str]):
    return or_(and_(col_kind == "user", col_name == user), and_(col_kind == "group", col_name.in_(list(groups))))


def _document(row: wm.Dashboard) -> dict:
    doc = {k: getattr(row, k) for k in DOC_COLUMNS}
    doc["tags"] = list(doc["tags"] or [])
    doc.update(row.document or {})
    return doc


def _dashboard(row: wm.Dashboard, with_document: bool) -> DashboardRec:
    return DashboardRec(
        id=row.id, workspace_id=row.workspace_id, folder_id=row.folder_id, name=row.name,
        description=row.description, tags=list(row.tags or []), owner=row.owner, private=row.private,
        template=row.template, version=row.version, widget_count=row.widget_count, created_at=row.created_at,
        updated_at=row.updated_at, updated_by=row.updated_by, document=_document(row) if with_document else None,
    )


def _version(row: wm.DashboardVersion, with_document: bool) -> VersionRec:
    return VersionRec(dashboard_id=row.dashboard_id, version=row.version, author=row.author,
                      created_at=row.created_at, message=row.message, restored_from=row.restored_from,
                      document=dict(row.document) if with_document else None)


def _columns(doc: dict) -> dict:
    """Split a full document into row columns and the JSON part (layout + widgets)."""
    cols = {k: doc[k] for k in DOC_COLUMNS}
    cols["document"] = {"layout": doc["layout"], "widgets": doc["widgets"]}
    cols["widget_count"] = len(doc["widgets"])
    return cols


class DashboardStoreMixin:
    """Dashboard half of :class:`~.workspace_repository.SQLWorkspaceRepository`."""

    def _set_tags(self, s: Session, dashboard_id: int, tags: list[str]) -> None:
        s.execute(delete(wm.DashboardTag).where(wm.DashboardTag.dashboard_id == dashboard_id))
        s.add_all(wm.DashboardTag(dashboard_id=dashboard_id, tag=t) for t in dict.fromkeys(tags))

    def create_dashboard(self, workspace_id, doc, owner, template, actor, message="", action="dashboard.create",
                         detail=None) -> DashboardRec:
        def go(s: Session):
            row = wm.Dashboard(workspace_id=workspace_id, owner=owner, template=template, version=1,
                               updated_by=actor, **_columns(doc))
            s.add(row)
            s.flush()
            s.add(wm.DashboardVersion(dashboard_id=row.id, version=1, author=actor, message=message, document=doc))
            self._set_tags(s, row.id, doc["tags"])
            self._audit(s, actor, action, "dashboard", row.id, workspace_id, {"name": doc["name"], **(detail or {})})
            return _dashboard(row, True)

        return self._run(go)

    def dashboard(self, dashboard_id, with_document=True) -> DashboardRec | None:
        def go(s: Session):
            row = s.get(wm.Dashboard, dashboard_id)
            return _dashboard(row, with_document) if row is not None else None

        return self._run(go)

    def dashboard_context(self, dashboard_id, user, groups, with_document=True) -> DashboardContext | None:
        params = {"id": dashboard_id, "user": user, "groups": list(groups)}

        def go(c):
            rows = c.execute(aq.DASHBOARD_ACCESS if with_document else aq.DASHBOARD_ACCESS_LIGHT, params).all()
            if not rows:
                return None
            access = [(r.a_src, (r.a_kind, r.a_name, r.a_level)) for r in rows if r.a_src is not None]
            return DashboardContext(dashboard=aq.dashboard_rec(rows[0], with_document),
                                    workspace=aq.context_workspace(rows[0]),
                                    memberships=[a for src, a in access if src == "m"],
                                    grants=[a for src, a in access if src == "g"])

        return self._read(go)

    def dashboards(self, query: DashboardQuery) -> list[DashboardRec]:
        D, T = aq.D, wm.DashboardTag.__table__
        q = select(*aq.SUMMARY_COLUMNS).order_by(D.c.name, D.c.id)
        if query.workspace_ids is not None:
            q = q.where(D.c.workspace_id.in_(list(query.workspace_ids)))
        if query.dashboard_ids is not None:
            q = q.where(D.c.id.in_(list(query.dashboard_ids)))
        if query.q:
            q = q.where(func.lower(D.c.name).contains(query.q.lower(), autoescape=True))
        if query.tag:
            q = q.where(D.c.id.in_(select(T.c.dashboard_id).where(T.c.tag == query.tag)))
        if query.folder_id is not None:
            q = q.where(D.c.folder_id == query.folder_id)
        if query.owner:
            q = q.where(D.c.owner == query.owner)
        q = q.limit(query.limit).offset(query.offset)
        return self._read(lambda c: [aq.dashboard_rec(r, False) for r in c.execute(q)])

    def dashboards_stamp(self, workspace_id: int) -> tuple:
        """A cheap value that changes whenever the workspace's dashboard listing may change."""
        return tuple(self._read(lambda c: c.execute(aq.DASHBOARDS_STAMP, {"ws": workspace_id}).one()))

    def matching_grants(self, user, groups, dashboard_ids=None) -> dict[int, list[tuple]]:
        P = wm.DashboardPermission
        q = select(P.dashboard_id, P.kind, P.name, P.level).where(_principal_cond(P.kind, P.name, user, groups))
        if dashboard_ids is not None:
            q = q.where(P.dashboard_id.in_(list(dashboard_ids)))

        def go(s: Session):
            out: dict[int, list[tuple]] = {}
            for did, kind, name, level in s.execute(q):
                out.setdefault(did, []).append((kind, name, level))
            return out

        return self._run(go)

    def save_dashboard(self, dashboard_id, base_version, doc, actor, message="", action="dashboard.save",
                       restored_from=None, detail=None) -> DashboardRec:
        D = wm.Dashboard

        def go(s: Session):
            done = s.execute(update(D).where(D.id == dashboard_id, D.version == base_version).values(
                version=base_version + 1, updated_at=m.utcnow(), updated_by=actor, **_columns(doc)))
            if done.rowcount != 1:
                current = s.scalar(select(D.version).where(D.id == dashboard_id))
                if current is None:
                    raise NotFound("No such dashboard.")
                raise Conflict(
                    f"The dashboard changed since version {base_version} (it is now at version {current}); "
                    "nothing was saved.", hint="Reload it, apply your edit again and save with the new version.")
            s.add(wm.DashboardVersion(dashboard_id=dashboard_id, version=base_version + 1, author=actor,
                                      message=message, restored_from=restored_from, document=doc))
            self._set_tags(s, dashboard_id, doc["tags"])
            row = s.get(D, dashboard_id)
            s.refresh(row)
            self._audit(s, actor, action, "dashboard", dashboard_id, row.workspace_id,
                        {"version": row.version, **(detail or {})})
            return _dashboard(row, True)

        return self._run(go)

    def delete_dashboard(self, dashboard_id, actor) -> None:
        def go(s: Session):
            row = s.get(wm.Dashboard, dashboard_id)
            if row is None:
                raise NotFound("No such dashboard.")
            s.delete(row)
            self._audit(s, actor, "dashboard.delete", "dashboard", dashboard_id, row.workspace_id,
                        {"name": row.name})

        self._run(go)

    def versions(self, dashboard_id, limit=100, offset=0) -> list[VersionRec]:
        V = wm.DashboardVersion
        q = (select(V).options(defer(V.document)).where(V.dashboard_id == dashboard_id)
             .order_by(V.version.desc()).limit(limit).offset(offset))
        return self._run(lambda s: [_version(r, False) for r in s.scalars(q)])

    def version(self, dashboard_id, version) -> VersionRec | None:
        V = wm.DashboardVersion
        q = select(V).where(V.dashboard_id == dashboard_id, V.version == version)
        return self._run(lambda s: (lambda r: _version(r, True) if r else None)(s.scalar(q)))

    def grants(self, dashboard_id) -> list[GrantRec]:
        P = wm.DashboardPermission
        q = select(P).where(P.dashboard_id == dashboard_id).order_by(P.kind.desc(), P.name)
        return self._run(lambda s: [GrantRec(r.dashboard_id, r.kind, r.name, r.level, r.granted_by)
                                    for r in s.scalars(q)])

    def set_grant(self, dashboard_id, kind, name, level, actor) -> GrantRec:
        P = wm.DashboardPermission

        def go(s: Session):
            row = s.scalar(select(P).where(P.dashboard_id == dashboard_id, P.kind == kind, P.name == name))
            before = row.level if row is not None else None
            if row is None:
                row = P(dashboard_id=dashboard_id, kind=kind, name=name)
                s.add(row)
            row.level, row.granted_by, row.granted_at = level, actor, m.utcnow()
            ws_id = s.scalar(select(wm.Dashboard.workspace_id).where(wm.Dashboard.id == dashboard_id))
            self._audit(s, actor, "permission.grant", "dashboard", dashboard_id, ws_id,
                        {"kind": kind, "name": name, "level": level, "before": before})
            return GrantRec(dashboard_id, kind, name, level, actor)

        return self._run(go, duplicate="That grant was changed at the same time; try again.")

    def remove_grant(self, dashboard_id, kind, name, actor) -> None:
        P = wm.DashboardPermission

        def go(s: Session):
            gone = s.execute(delete(P).where(P.dashboard_id == dashboard_id, P.kind == kind, P.name == name))
            if gone.rowcount == 0:
                raise NotFound(f"No grant for {kind} '{name}' on this dashboard.")
            ws_id = s.scalar(select(wm.Dashboard.workspace_id).where(wm.Dashboard.id == dashboard_id))
            self._audit(s, actor, "permission.revoke", "dashboard", dashboard_id, ws_id, {"kind": kind, "name": name})

        self._run(go)

