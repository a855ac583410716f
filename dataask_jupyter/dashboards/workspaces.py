"""Workspaces and what hangs off them: members, folders, datasets, audit, recents, search.

Every method takes a :class:`~.access.Grant` from :meth:`Authorizer.authorize` (or the bare
:class:`~.roles.Principal` for user-level calls), re-checks the role it needs with
:meth:`Grant.need`, changes the store (which audits in the same transaction) and
publishes an event once the change committed.
"""

from __future__ import annotations

from ..errors import Forbidden, NotFound, UsageError
from ..store.workspace_records import DashboardQuery
from .access import Authorizer, Grant, Scope
from .api_models import (
    AuditFilter,
    AuditOut,
    DatasetIn,
    DatasetOut,
    DatasetUpdate,
    RecentFilter,
    RecentOut,
    SearchFilter,
)
from .events import EventBus, make_event
from .models import (
    DashboardSummary,
    FolderIn,
    FolderOut,
    FolderUpdate,
    MemberIn,
    MemberOut,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
)
from .queries import QueryChecker
from .roles import Principal, PrincipalKind, Role, can_grant


def summary(rec) -> DashboardSummary:
    return DashboardSummary.model_validate(rec)


class Workspaces:
    """Workspace-level operations of the dashboards API."""

    def __init__(self, repo, authz: Authorizer, events: EventBus, queries: QueryChecker) -> None:
        self.repo, self.authz, self.events, self.queries = repo, authz, events, queries

    def _publish(self, kind: str, g: Grant, **fields) -> None:
        self.events.publish(make_event(kind, g.workspace.id, g.actor, **fields))

    # -- workspaces ------------------------------------------------------------------------
    def list(self, who: Principal) -> list[WorkspaceOut]:
        """Workspaces ``who`` is a member of (every workspace for the server's owner)."""
        roles = self.authz.member_roles(who)
        return [WorkspaceOut(**vars(w), role=roles[w.id]) for w in self.repo.workspaces(sorted(roles))]

    def create(self, who: Principal, body: WorkspaceCreate) -> WorkspaceOut:
        """Create a workspace; its creator becomes its admin."""
        rec = self.repo.create_workspace(body.name, body.theme.model_dump(), who.name)
        return WorkspaceOut(**vars(rec), role=Role.admin)

    def get(self, g: Grant) -> WorkspaceOut:
        return WorkspaceOut(**vars(g.workspace), role=g.role)

    def update(self, g: Grant, body: WorkspaceUpdate) -> WorkspaceOut:
        g.need(Role.admin)
        rec = self.repo.update_workspace(g.workspace.id, g.actor, name=body.name,
                                         theme=body.theme.model_dump() if body.theme else None)
        self._publish("workspace.updated", g)
        return WorkspaceOut(**vars(rec), role=g.role)

    def delete(self, g: Grant) -> None:
        g.need(Role.admin)
        self.repo.delete_workspace(g.workspace.id, g.actor)
        self._publish("workspace.deleted", g)

    # -- members ---------------------------------------------------------------------------
    def members(self, g: Grant) -> list[MemberOut]:
        return [MemberOut.model_validate(m) for m in self.repo.members(g.workspace.id)]

    def _grantable(self, g: Grant, role: Role) -> None:
        g.need(Role.admin)
        if not can_grant(g.role, role):
            raise Forbidden(f"You cannot grant '{role.value}': it is higher than your own role.")

    def add_member(self, g: Grant, body: MemberIn) -> MemberOut:
        self._grantable(g, body.role)
        rec = self.repo.set_member(g.workspace.id, body.kind.value, body.name, body.role.value, g.actor, create=True)
        self._publish("member.changed", g, member={"kind": rec.kind, "name": rec.name, "role": rec.role})
        return MemberOut.model_validate(rec)

    def update_member(self, g: Grant, kind: str, name: str, body: MemberUpdate) -> MemberOut:
        self._grantable(g, body.role)
        rec = self.repo.set_member(g.workspace.id, PrincipalKind(kind).value, name, body.role.value, g.actor,
                                   create=False)
        self._publish("member.changed", g, member={"kind": rec.kind, "name": rec.name, "role": rec.role})
        return MemberOut.model_validate(rec)

    def remove_member(self, g: Grant, kind: str, name: str) -> None:
        g.need(Role.admin)
        self.repo.remove_member(g.workspace.id, PrincipalKind(kind).value, name, g.actor)
        self._publish("member.changed", g, member={"kind": kind, "name": name, "role": None})

    # -- folders ---------------------------------------------------------------------------
    def folders(self, g: Grant) -> list[FolderOut]:
        return [FolderOut.model_validate(f) for f in self.repo.folders(g.workspace.id)]

    def _folder(self, g: Grant, folder_id: int):
        rec = self.repo.folder(folder_id)
        if rec is None or rec.workspace_id != g.workspace.id:
            raise NotFound("No such folder in this workspace.")
        return rec

    def create_folder(self, g: Grant, body: FolderIn) -> FolderOut:
        g.need(Role.editor)
        rec = self.repo.create_folder(g.workspace.id, body.name, body.parent_id, g.actor)
        self._publish("folder.changed", g, folder_id=rec.id)
        return FolderOut.model_validate(rec)

    def update_folder(self, g: Grant, folder_id: int, body: FolderUpdate) -> FolderOut:
        g.need(Role.editor)
        self._folder(g, folder_id)
        rec = self.repo.update_folder(folder_id, g.actor, name=body.name, parent_id=body.parent_id,
                                      to_root=body.move_to_root)
        self._publish("folder.changed", g, folder_id=rec.id)
        return FolderOut.model_validate(rec)

    def delete_folder(self, g: Grant, folder_id: int) -> None:
        g.need(Role.editor)
        self._folder(g, folder_id)
        self.repo.delete_folder(folder_id, g.actor)
        self._publish("folder.changed", g, folder_id=folder_id)

    # -- datasets --------------------------------------------------------------------------
    def datasets(self, g: Grant) -> list[DatasetOut]:
        return [DatasetOut.model_validate(d) for d in self.repo.datasets(g.workspace.id)]

    def create_dataset(self, g: Grant, body: DatasetIn) -> DatasetOut:
        g.need(Role.editor)
        self.queries.check(g.workspace, body.query)
        rec = self.repo.create_dataset(g.workspace.id, body.name, body.description, body.query.model_dump(), g.actor)
        self._publish("dataset.changed", g, dataset_id=rec.id)
        return DatasetOut.model_validate(rec)

    def get_dataset(self, g: Grant) -> DatasetOut:
        return DatasetOut.model_validate(g.dataset)

    def update_dataset(self, g: Grant, body: DatasetUpdate) -> DatasetOut:
        g.need(Role.editor)
        self.queries.check(g.workspace, body.query)
        rec = self.repo.update_dataset(g.dataset.id, body.version, body.name, body.description,
                                       body.query.model_dump(), g.actor)
        self._publish("dataset.changed", g, dataset_id=rec.id, version=rec.version)
        return DatasetOut.model_validate(rec)

    def delete_dataset(self, g: Grant) -> None:
        g.need(Role.editor)
        self.repo.delete_dataset(g.dataset.id, g.actor)
        self._publish("dataset.changed", g, dataset_id=g.dataset.id)

    # -- audit, recents, search ----------------------------------------------------------------
    def audit(self, g: Grant, f: AuditFilter) -> list[AuditOut]:
        """The workspace's audit log, newest first (admins only)."""
        g.need(Role.admin)
        return [AuditOut.model_validate(a) for a in self.repo.audit_entries(g.workspace.id, f.limit, f.action, f.actor)]

    def recents(self, who: Principal, f: RecentFilter) -> list[RecentOut]:
        """Dashboards ``who`` opened lately that they can still see."""
        recs = [r for r in self.repo.recents(who.name, 200) if f.workspace_id in (None, r.workspace_id)]
        if not recs:
            return []
        boards = self.repo.dashboards(DashboardQuery(dashboard_ids=tuple(r.dashboard_id for r in recs),
                                                     limit=len(recs)))
        visible = self.authz.visible_levels(who, boards)
        return [RecentOut.model_validate(r) for r in recs if r.dashboard_id in visible][: f.limit]

    def search(self, who: Principal, f: SearchFilter) -> list[DashboardSummary]:
        """Dashboards ``who`` can see, across workspaces, filtered by name, tag, folder, owner."""
        roles = self.authz.member_roles(who)
        if f.workspace_id is not None:
            if f.workspace_id not in roles:
                return []
            roles = {f.workspace_id: roles[f.workspace_id]}
        granted = set(self.repo.matching_grants(who.name, sorted(who.groups)))
        ids = tuple(roles)
        found = self.repo.dashboards(DashboardQuery(workspace_ids=ids, q=f.q, tag=f.tag, folder_id=f.folder_id,
                                                    owner=f.owner, limit=f.limit + f.offset + 1000))
        if granted and f.workspace_id is None:
            extra = granted - {d.id for d in found}
            if extra:
                found += self.repo.dashboards(DashboardQuery(dashboard_ids=tuple(extra), q=f.q, tag=f.tag,
                                                             folder_id=f.folder_id, owner=f.owner, limit=len(extra)))
        visible = self.authz.visible_levels(who, found)
        hits = sorted((d for d in found if d.id in visible), key=lambda d: (d.name.lower(), d.id))
        return [summary(d) for d in hits[f.offset: f.offset + f.limit]]

    def require(self, who: Principal, scope: Scope, key, minimum: Role) -> Grant:
        return self.authz.authorize(who, scope, key, minimum)

    def check_folder(self, workspace_id: int, folder_id: int | None) -> None:
        if folder_id is None:
            return
        rec = self.repo.folder(folder_id)
        if rec is None or rec.workspace_id != workspace_id:
            raise UsageError(f"Folder {folder_id} does not exist in this workspace.")
