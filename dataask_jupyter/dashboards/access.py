"""Authorization against the store: turn (principal, object, minimum role) into a
:class:`Grant`, or refuse.

Refusals follow SECURITY.md 21-22: an object the caller cannot see at all (unknown,
another team's, a private dashboard) is a 404 whether or not it exists; a member whose
role is too low gets a 403. Every refusal is written to the audit log with the actor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from ..errors import Forbidden, NotFound
from ..store.workspace_records import DashboardRec, DatasetRec, WorkspaceRec
from .roles import Level, Principal, Role, dashboard_level, level_of, rank, workspace_role


class Scope(str, Enum):
    """What a route's role check is about."""

    user = "user"  # any authenticated user; the handler's core call filters what they see
    workspace = "workspace"  # path id of a workspace
    workspace_name = "workspace_name"  # ?workspace=<name> (connection routes)
    dashboard = "dashboard"
    dataset = "dataset"


@dataclass(frozen=True)
class Grant:
    """Proof that ``principal`` passed a role check, with what was loaded to decide it."""

    principal: Principal
    workspace: WorkspaceRec | None = None
    role: Role | None = None
    level: Level | None = None
    dashboard: DashboardRec | None = None
    dataset: DatasetRec | None = None

    @property
    def actor(self) -> str:
        return self.principal.name

    def need(self, minimum: Role | Level) -> None:
        """Raise :class:`Forbidden` unless the grant reaches ``minimum`` (no store access)."""
        have = self.level if self.dashboard is not None else self.role
        if rank(have) < rank(minimum):
            raise Forbidden(_denied_message(have, minimum))


def _denied_message(have, minimum) -> str:
    what = "dashboard" if isinstance(minimum, Level) else "workspace"
    have_txt = have.value if have is not None else "no access"
    return (f"Your access to this {what} ({have_txt}) does not allow this; it needs {minimum.value}. "
            "Ask an admin for more access.")


_NOT_FOUND = {
    Scope.workspace: "No such workspace (or you are not a member of it).",
    Scope.workspace_name: "No such workspace (or you are not a member of it).",
    Scope.dashboard: "No such dashboard (or it is not shared with you).",
    Scope.dataset: "No such dataset (or you are not a member of its workspace).",
}


class Authorizer:
    """Role checks over a :class:`~dataask_jupyter.store.WorkspaceRepository`."""

    def __init__(self, repo) -> None:
        self.repo = repo

    def authorize(self, principal: Principal, scope: Scope | str, key=None,
                  minimum: Role | str = Role.viewer) -> Grant:
        """Check ``principal`` against one object and return the :class:`Grant`.

        Parameters
        ----------
        scope
            Which kind of object ``key`` names (:class:`Scope`).
        key
            Its id (or workspace name for ``workspace_name``).
        minimum
            Lowest workspace role (or, for dashboards, the level of the same rank) needed.

        Raises
        ------
        NotFound
            The object does not exist or the caller cannot see it at all (404).
        Forbidden
            The caller sees it but their role is too low (403).
        """
        scope, minimum = Scope(scope), Role(minimum)
        if scope is Scope.user:
            return Grant(principal)
        if scope is Scope.dashboard:
            return self._dashboard(principal, int(key), minimum)
        dataset = None
        if scope is Scope.dataset:
            dataset = self.repo.dataset(int(key))
            ws = self.repo.workspace(dataset.workspace_id) if dataset is not None else None
        elif scope is Scope.workspace_name:
            ws = self.repo.workspace_by_name(str(key))
        else:
            ws, rows = self.repo.workspace_access(int(key), principal.name, sorted(principal.groups))
            role = workspace_role(principal, rows) if ws is not None else None
        if scope is not Scope.workspace:
            role = self.role_in(principal, ws.id) if ws is not None else None
        if role is None:
            self._deny(principal, scope, key, ws.id if ws else None, minimum, "not_found")
            raise NotFound(_NOT_FOUND[scope])
        grant = Grant(principal, workspace=ws, role=role, dataset=dataset)
        if rank(role) < rank(minimum):
            self._deny(principal, scope, key, ws.id, minimum, "forbidden")
            raise Forbidden(_denied_message(role, minimum))
        return grant

    def role_in(self, principal: Principal, workspace_id: int) -> Role | None:
        if principal.superuser:
            return Role.admin
        rows = self.repo.memberships(principal.name, sorted(principal.groups), workspace_id)
        return workspace_role(principal, ((kind, name, role) for _, kind, name, role in rows))

    def _dashboard(self, principal: Principal, dashboard_id: int, minimum: Role) -> Grant:
        ctx = self.repo.dashboard_context(dashboard_id, principal.name, sorted(principal.groups))
        level = role = None
        if ctx is not None:
            role = workspace_role(principal, ctx.memberships)
            level = dashboard_level(principal, role, owner=ctx.dashboard.owner, private=ctx.dashboard.private,
                                    grants=ctx.grants)
        if level is None:
            self._deny(principal, Scope.dashboard, dashboard_id, ctx.workspace.id if ctx else None, minimum,
                       "not_found")
            raise NotFound(_NOT_FOUND[Scope.dashboard])
        grant = Grant(principal, workspace=ctx.workspace, role=role, level=level, dashboard=ctx.dashboard)
        if rank(level) < rank(minimum):
            self._deny(principal, Scope.dashboard, dashboard_id, ctx.workspace.id, minimum, "forbidden")
            raise Forbidden(_denied_message(level, level_of(minimum)))
        return grant

    def visible_levels(self, principal: Principal, dashboards: Iterable[DashboardRec]) -> dict[int, Level]:
        """Level of ``principal`` on each dashboard it can see (bulk, for lists and search)."""
        dashboards = list(dashboards)
        if principal.superuser:
            return {d.id: Level.admin for d in dashboards}
        roles = self.member_roles(principal)
        grants = self.repo.matching_grants(principal.name, sorted(principal.groups), [d.id for d in dashboards])
        out = {}
        for d in dashboards:
            level = dashboard_level(principal, roles.get(d.workspace_id), owner=d.owner, private=d.private,
                                    grants=grants.get(d.id, ()))
            if level is not None:
                out[d.id] = level
        return out

    def member_roles(self, principal: Principal) -> dict[int, Role]:
        """Workspace id -> the principal's role, for every workspace it belongs to."""
        if principal.superuser:
            return {w.id: Role.admin for w in self.repo.workspaces()}
        roles: dict[int, Role] = {}
        for ws_id, kind, name, role in self.repo.memberships(principal.name, sorted(principal.groups)):
            if principal.matches(kind, name) and rank(role) > rank(roles.get(ws_id)):
                roles[ws_id] = Role(role)
        return roles

    def may_receive(self, principal: Principal, event: dict) -> bool | None:
        """Whether a live event may go to ``principal`` (``None``: it lost the workspace).

        Never audits: it runs for every subscriber on every event.
        """
        role = self.role_in(principal, event["workspace_id"])
        if role is None:
            return None
        if not event.get("private") or role == Role.admin:
            return True
        ctx = self.repo.dashboard_context(event.get("dashboard_id", 0), principal.name, sorted(principal.groups),
                                          with_document=False)
        if ctx is None:
            return False
        return dashboard_level(principal, role, owner=ctx.dashboard.owner, private=ctx.dashboard.private,
                               grants=ctx.grants) is not None

    def _deny(self, principal: Principal, scope: Scope, key, workspace_id, minimum, outcome: str) -> None:
        self.repo.audit(principal.name, "access.denied", target_type=scope.value, target=str(key)[:400],
                        workspace_id=workspace_id, outcome="denied", detail={"need": minimum.value, "status": outcome})
