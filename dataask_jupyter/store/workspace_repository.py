"""Repository of workspace contents: interface and SQLAlchemy implementation.

Everything above ``store/`` uses :class:`WorkspaceRepository` and gets plain records
(:mod:`.workspace_records`); a team deployment can put a remote implementation behind the
same interface. Every mutation writes its audit row in the same transaction, so a change
and its audit entry commit (or vanish) together.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import Engine, delete, false, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import AlreadyExists, Conflict, NotFound, StoreUnavailable, UsageError
from . import access_queries as aq
from . import models as m
from . import workspace_models as wm
from .dashboard_store import DashboardStoreMixin, DashboardStoreProtocol
from .records import AuditRecord
from .workspace_records import DatasetRec, FolderRec, MemberRec, RecentRec, WorkspaceRec

T = TypeVar("T")
RECENTS_KEPT_PER_USER = 200
RECENT_RESOLUTION_S = 30.0
Membership = tuple[int, str, str, str]  # workspace_id, kind, name, role


class WorkspaceRepository(DashboardStoreProtocol, Protocol):
    """What the dashboards service needs from the metadata store."""

    def create_workspace(self, name: str, theme: dict, actor: str) -> WorkspaceRec: ...
    def workspace(self, workspace_id: int) -> WorkspaceRec | None: ...
    def workspace_by_name(self, name: str) -> WorkspaceRec | None: ...
    def workspaces(self, ids: Sequence[int] | None = None) -> list[WorkspaceRec]: ...
    def update_workspace(self, workspace_id: int, actor: str, *, name: str | None = None,
                         theme: dict | None = None) -> WorkspaceRec: ...
    def delete_workspace(self, workspace_id: int, actor: str) -> None: ...
    def memberships(self, user: str, groups: Sequence[str], workspace_id: int | None = None) -> list[Membership]: ...
    def members(self, workspace_id: int) -> list[MemberRec]: ...
    def set_member(self, workspace_id: int, kind: str, name: str, role: str, actor: str, *,
                   create: bool) -> MemberRec: ...
    def remove_member(self, workspace_id: int, kind: str, name: str, actor: str) -> None: ...
    def folders(self, workspace_id: int) -> list[FolderRec]: ...
    def folder(self, folder_id: int) -> FolderRec | None: ...
    def create_folder(self, workspace_id: int, name: str, parent_id: int | None, actor: str) -> FolderRec: ...
    def update_folder(self, folder_id: int, actor: str, *, name: str | None = None,
                      parent_id: int | None = None, to_root: bool = False) -> FolderRec: ...
    def delete_folder(self, folder_id: int, actor: str) -> None: ...
    def datasets(self, workspace_id: int) -> list[DatasetRec]: ...
    def dataset(self, dataset_id: int) -> DatasetRec | None: ...
    def create_dataset(self, workspace_id: int, name: str, description: str, query: dict,
                       actor: str) -> DatasetRec: ...
    def update_dataset(self, dataset_id: int, base_version: int, name: str, description: str, query: dict,
                       actor: str) -> DatasetRec: ...
    def delete_dataset(self, dataset_id: int, actor: str) -> None: ...
    def touch_recent(self, user: str, dashboard_id: int, workspace_id: int) -> None: ...
    def recents(self, user: str, limit: int = 20) -> list[RecentRec]: ...
    def audit(self, actor: str, action: str, **fields) -> None: ...
    def audit_entries(self, workspace_id: int, limit: int = 100, action: str | None = None,
                      actor: str | None = None) -> list[AuditRecord]: ...


def _ws(r: m.Workspace) -> WorkspaceRec:
    return WorkspaceRec(id=r.id, name=r.name, theme=dict(r.theme or {}), created_at=r.created_at,
                        created_by=r.created_by or "")


def _member(r: wm.WorkspaceMember) -> MemberRec:
    return MemberRec(workspace_id=r.workspace_id, kind=r.kind, name=r.name, role=r.role, added_by=r.added_by,
                     added_at=r.added_at)


def _folder(r: wm.Folder) -> FolderRec:
    return FolderRec(id=r.id, workspace_id=r.workspace_id, name=r.name, parent_id=r.parent_id,
                     created_by=r.created_by, created_at=r.created_at)


def _dataset(r: wm.Dataset) -> DatasetRec:
    return DatasetRec(id=r.id, workspace_id=r.workspace_id, name=r.name, description=r.description,
                      query=dict(r.query), version=r.version, created_by=r.created_by, created_at=r.created_at,
                      updated_at=r.updated_at)


class SQLWorkspaceRepository(DashboardStoreMixin):
    """:class:`WorkspaceRepository` over a SQLAlchemy engine (SQLite WAL or PostgreSQL).

    Parameters
    ----------
    engine
        The metadata store's engine, already migrated (``open_store`` does that).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._touches = 0
        self._recent_seen: OrderedDict[tuple[str, int], float] = OrderedDict()
        self._recent_lock = threading.Lock()

    @classmethod
    def from_store(cls, repo) -> SQLWorkspaceRepository:
        """The workspace repository sharing ``repo``'s engine (a :class:`LocalRepository`)."""
        return cls(repo.engine)

    def _run(self, fn: Callable[[Session], T], *, duplicate: str | None = None) -> T:
        try:
            with self._sessions() as s, s.begin():
                return fn(s)
        except IntegrityError:
            if duplicate:
                raise AlreadyExists(duplicate) from None
            raise
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                raise StoreUnavailable("The metadata store is busy; try again.") from None
            raise StoreUnavailable("The DataAsk metadata store is unreachable; try again shortly.") from None

    def _read(self, fn: Callable):
        """Run ``fn(connection)`` for reads on a plain Core connection (no ORM session)."""
        try:
            with self.engine.connect() as conn:
                return fn(conn)
        except OperationalError:
            raise StoreUnavailable("The DataAsk metadata store is unreachable; try again shortly.") from None

    @staticmethod
    def _audit(s: Session, actor: str, action: str, target_type: str, target, workspace_id: int | None,
               detail: dict | None = None, outcome: str = "ok") -> None:
        s.add(m.AuditEntry(actor=actor, action=action, target_type=target_type, target=str(target)[:400],
                           workspace_id=workspace_id, outcome=outcome, detail=detail or {}))

    # -- workspaces ------------------------------------------------------------------------
    def create_workspace(self, name: str, theme: dict, actor: str) -> WorkspaceRec:
        def go(s: Session):
            row = m.Workspace(name=name, theme=theme, created_by=actor)
            s.add(row)
            s.flush()
            s.add(wm.WorkspaceMember(workspace_id=row.id, kind="user", name=actor, role="admin", added_by=actor))
            self._audit(s, actor, "workspace.create", "workspace", row.id, row.id, {"name": name})
            return _ws(row)

        return self._run(go, duplicate=f"A workspace named '{name}' already exists; choose another name.")

    def workspace(self, workspace_id: int) -> WorkspaceRec | None:
        row = self._read(lambda c: c.execute(aq.WORKSPACE, {"ws": workspace_id}).first())
        return aq.workspace_rec(row) if row is not None else None

    def workspace_access(self, workspace_id: int, user: str,
                         groups: Sequence[str]) -> tuple[WorkspaceRec | None, list[tuple[str, str, str]]]:
        """The workspace and the caller's matching memberships ``(kind, name, role)``, in one round."""
        rows = self._read(lambda c: c.execute(aq.WORKSPACE_ACCESS, {"ws": workspace_id, "user": user,
                                                                    "groups": list(groups)}).all())
        if not rows:
            return None, []
        return aq.workspace_rec(rows[0]), [(r.m_kind, r.m_name, r.m_role) for r in rows if r.m_kind is not None]

    def workspace_by_name(self, name: str) -> WorkspaceRec | None:
        q = select(m.Workspace).where(m.Workspace.name == name)
        return self._run(lambda s: (lambda r: _ws(r) if r else None)(s.scalar(q)))

    def workspaces(self, ids: Sequence[int] | None = None) -> list[WorkspaceRec]:
        q = select(m.Workspace).order_by(m.Workspace.name)
        if ids is not None:
            q = q.where(m.Workspace.id.in_(list(ids)) if ids else false())
        return self._run(lambda s: [_ws(r) for r in s.scalars(q)])

    def update_workspace(self, workspace_id, actor, *, name=None, theme=None) -> WorkspaceRec:
        def go(s: Session):
            row = s.get(m.Workspace, workspace_id)
            if row is None:
                raise NotFound("No such workspace.")
            if name is not None:
                if row.name == "default" and name != "default":
                    raise UsageError("The default workspace cannot be renamed.")
                row.name = name
            if theme is not None:
                row.theme = theme
            self._audit(s, actor, "workspace.update", "workspace", row.id, row.id,
                        {"fields": [k for k, v in (("name", name), ("theme", theme)) if v is not None]})
            s.flush()
            return _ws(row)

        return self._run(go, duplicate=f"A workspace named '{name}' already exists; choose another name.")

    def delete_workspace(self, workspace_id: int, actor: str) -> None:
        def go(s: Session):
            row = s.get(m.Workspace, workspace_id)
            if row is None:
                raise NotFound("No such workspace.")
            if row.name == "default":
                raise UsageError("The default workspace cannot be deleted.")
            s.delete(row)
            self._audit(s, actor, "workspace.delete", "workspace", workspace_id, workspace_id, {"name": row.name})

        self._run(go)

    # -- members ---------------------------------------------------------------------------
    def memberships(self, user, groups, workspace_id=None) -> list[Membership]:
        params = {"user": user, "groups": list(groups)}
        if workspace_id is None:
            return self._read(lambda c: [tuple(r) for r in c.execute(aq.ALL_ROLES, params)])
        rows = self._read(lambda c: c.execute(aq.WORKSPACE_ROLES, {**params, "ws": workspace_id}).all())
        return [(workspace_id, *r) for r in rows]

    def members(self, workspace_id: int) -> list[MemberRec]:
        M = wm.WorkspaceMember
        q = select(M).where(M.workspace_id == workspace_id).order_by(M.kind.desc(), M.name)
        return self._run(lambda s: [_member(r) for r in s.scalars(q)])

    def set_member(self, workspace_id, kind, name, role, actor, *, create) -> MemberRec:
        M = wm.WorkspaceMember

        def go(s: Session):
            row = s.scalar(select(M).where(M.workspace_id == workspace_id, M.kind == kind, M.name == name))
            if create and row is not None:
                raise AlreadyExists(f"'{name}' is already a member; change their role instead.")
            if not create and row is None:
                raise NotFound(f"'{name}' is not a member of this workspace.")
            before = row.role if row is not None else None
            if row is None:
                row = M(workspace_id=workspace_id, kind=kind, name=name, added_by=actor)
                s.add(row)
            row.role = role
            s.flush()
            self._require_admin_left(s, workspace_id)
            self._audit(s, actor, "member.add" if create else "member.update", kind, name, workspace_id,
                        {"role": role, "before": before})
            return _member(row)

        return self._run(go, duplicate=f"'{name}' is already a member; change their role instead.")

    def remove_member(self, workspace_id, kind, name, actor) -> None:
        M = wm.WorkspaceMember

        def go(s: Session):
            gone = s.execute(delete(M).where(M.workspace_id == workspace_id, M.kind == kind, M.name == name))
            if gone.rowcount == 0:
                raise NotFound(f"'{name}' is not a member of this workspace.")
            self._require_admin_left(s, workspace_id)
            self._audit(s, actor, "member.remove", kind, name, workspace_id)

        self._run(go)

    @staticmethod
    def _require_admin_left(s: Session, workspace_id: int) -> None:
        M = wm.WorkspaceMember
        admins = s.scalar(select(func.count()).where(M.workspace_id == workspace_id, M.role == "admin"))
        if not admins:
            raise Conflict("A workspace needs at least one admin; make someone else admin first.")

    # -- folders ---------------------------------------------------------------------------
    def folders(self, workspace_id: int) -> list[FolderRec]:
        F = wm.Folder
        q = select(F).where(F.workspace_id == workspace_id).order_by(F.name, F.id)
        return self._run(lambda s: [_folder(r) for r in s.scalars(q)])

    def folder(self, folder_id: int) -> FolderRec | None:
        return self._run(lambda s: (lambda r: _folder(r) if r else None)(s.get(wm.Folder, folder_id)))

    def _parent_ok(self, s: Session, workspace_id: int, parent_id: int | None, moving: int | None = None) -> None:
        seen = set()
        while parent_id is not None:
            parent = s.get(wm.Folder, parent_id)
            if parent is None or parent.workspace_id != workspace_id:
                raise UsageError("The parent folder does not exist in this workspace.")
            if parent_id == moving or parent_id in seen:
                raise UsageError("A folder cannot be moved into itself or one of its subfolders.")
            seen.add(parent_id)
            parent_id = parent.parent_id

    def create_folder(self, workspace_id, name, parent_id, actor) -> FolderRec:
        def go(s: Session):
            self._parent_ok(s, workspace_id, parent_id)
            row = wm.Folder(workspace_id=workspace_id, name=name, parent_id=parent_id, created_by=actor)
            s.add(row)
            s.flush()
            self._audit(s, actor, "folder.create", "folder", row.id, workspace_id, {"name": name})
            return _folder(row)

        return self._run(go)

    def update_folder(self, folder_id, actor, *, name=None, parent_id=None, to_root=False) -> FolderRec:
        def go(s: Session):
            row = s.get(wm.Folder, folder_id)
            if row is None:
                raise NotFound("No such folder.")
            if name is not None:
                row.name = name
            if to_root:
                row.parent_id = None
            elif parent_id is not None:
                self._parent_ok(s, row.workspace_id, parent_id, moving=row.id)
                row.parent_id = parent_id
            self._audit(s, actor, "folder.update", "folder", row.id, row.workspace_id)
            s.flush()
            return _folder(row)

        return self._run(go)

    def delete_folder(self, folder_id: int, actor: str) -> None:
        """Delete a folder; its dashboards and subfolders move up to its parent."""

        def go(s: Session):
            row = s.get(wm.Folder, folder_id)
            if row is None:
                raise NotFound("No such folder.")
            s.execute(update(wm.Folder).where(wm.Folder.parent_id == row.id).values(parent_id=row.parent_id))
            s.execute(update(wm.Dashboard).where(wm.Dashboard.folder_id == row.id).values(folder_id=row.parent_id))
            s.delete(row)
            self._audit(s, actor, "folder.delete", "folder", folder_id, row.workspace_id, {"name": row.name})

        self._run(go)

    # -- datasets --------------------------------------------------------------------------
    def datasets(self, workspace_id: int) -> list[DatasetRec]:
        q = select(wm.Dataset).where(wm.Dataset.workspace_id == workspace_id).order_by(wm.Dataset.name)
        return self._run(lambda s: [_dataset(r) for r in s.scalars(q)])

    def dataset(self, dataset_id: int) -> DatasetRec | None:
        return self._run(lambda s: (lambda r: _dataset(r) if r else None)(s.get(wm.Dataset, dataset_id)))

    def create_dataset(self, workspace_id, name, description, query, actor) -> DatasetRec:
        def go(s: Session):
            row = wm.Dataset(workspace_id=workspace_id, name=name, description=description, query=query,
                             version=1, created_by=actor, updated_by=actor)
            s.add(row)
            s.flush()
            self._audit(s, actor, "dataset.create", "dataset", row.id, workspace_id, {"name": name})
            return _dataset(row)

        return self._run(go, duplicate=f"A dataset named '{name}' already exists in this workspace.")

    def update_dataset(self, dataset_id, base_version, name, description, query, actor) -> DatasetRec:
        D = wm.Dataset

        def go(s: Session):
            done = s.execute(update(D).where(D.id == dataset_id, D.version == base_version).values(
                name=name, description=description, query=query, version=base_version + 1,
                updated_at=m.utcnow(), updated_by=actor))
            row = s.get(D, dataset_id)
            if row is None:
                raise NotFound("No such dataset.")
            if done.rowcount != 1:
                raise Conflict(f"The dataset changed since version {base_version} (now {row.version}); "
                               "reload it and apply your edit again.")
            s.refresh(row)
            self._audit(s, actor, "dataset.update", "dataset", row.id, row.workspace_id,
                        {"version": row.version})
            return _dataset(row)

        return self._run(go, duplicate=f"A dataset named '{name}' already exists in this workspace.")

    def delete_dataset(self, dataset_id: int, actor: str) -> None:
        def go(s: Session):
            row = s.get(wm.Dataset, dataset_id)
            if row is None:
                raise NotFound("No such dataset.")
            s.delete(row)
            self._audit(s, actor, "dataset.delete", "dataset", dataset_id, row.workspace_id, {"name": row.name})

        self._run(go)

    # -- recents ---------------------------------------------------------------------------
    def touch_recent(self, user: str, dashboard_id: int, workspace_id: int) -> None:
        """Record that ``user`` opened a dashboard (at most once per :data:`RECENT_RESOLUTION_S`
        per process: opening the same dashboard again right away changes nothing)."""
        key, now = (user, dashboard_id), time.monotonic()
        with self._recent_lock:
            last = self._recent_seen.get(key)
            if last is not None and now - last < RECENT_RESOLUTION_S:
                return
            self._recent_seen[key] = now
            self._recent_seen.move_to_end(key)
            while len(self._recent_seen) > 10_000:
                self._recent_seen.popitem(last=False)
        R = wm.RecentView
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        ins = insert(R).values(username=user, dashboard_id=dashboard_id, workspace_id=workspace_id,
                               viewed_at=m.utcnow())
        ins = ins.on_conflict_do_update(index_elements=["username", "dashboard_id"],
                                        set_={"viewed_at": ins.excluded.viewed_at})
        self._run(lambda s: s.execute(ins))
        self._touches += 1
        if self._touches % 100 == 0:
            self._prune_recents(user)

    def _prune_recents(self, user: str) -> None:
        R = wm.RecentView

        def go(s: Session):
            cutoff = s.scalar(select(R.viewed_at).where(R.username == user).order_by(R.viewed_at.desc())
                              .offset(RECENTS_KEPT_PER_USER).limit(1))
            if cutoff is not None:
                s.execute(delete(R).where(R.username == user, R.viewed_at <= cutoff))

        self._run(go)

    def recents(self, user: str, limit: int = 20) -> list[RecentRec]:
        R, D = wm.RecentView, wm.Dashboard
        q = (select(R.dashboard_id, R.workspace_id, D.name, R.viewed_at).join(D, D.id == R.dashboard_id)
             .where(R.username == user).order_by(R.viewed_at.desc()).limit(limit))
        return self._run(lambda s: [RecentRec(*row) for row in s.execute(q)])

    # -- audit -----------------------------------------------------------------------------
    def audit(self, actor: str, action: str, **fields) -> None:
        fields.setdefault("detail", {})
        self._run(lambda s: s.add(m.AuditEntry(actor=actor, action=action, **fields)))

    def audit_entries(self, workspace_id, limit=100, action=None, actor=None) -> list[AuditRecord]:
        A = m.AuditEntry
        q = select(A).where(A.workspace_id == workspace_id).order_by(A.id.desc()).limit(limit)
        if action:
            q = q.where(A.action == action)
        if actor:
            q = q.where(A.actor == actor)
        return self._run(lambda s: [
            AuditRecord(id=r.id, at=r.at, actor=r.actor, action=r.action, target_type=r.target_type,
                        target=r.target, workspace_id=r.workspace_id, outcome=r.outcome,
                        detail=dict(r.detail or {}))
            for r in s.scalars(q)
        ])
