"""Who may do what: workspace roles, per-dashboard levels and the rules that combine them.

Pure functions over plain values (no store, no web framework), so the same rules serve
the HTTP API, the kernel side and tests.

Workspace roles are ``viewer < editor < admin``. Dashboard levels are ``view < edit <
admin`` and rank like the roles (a workspace editor can edit every non-private dashboard
of the workspace). Per-dashboard grants only ever *raise* a user's level; a private
dashboard is visible to its owner, workspace admins and explicit grants only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class Role(str, Enum):
    """A member's role in a workspace."""

    viewer = "viewer"
    editor = "editor"
    admin = "admin"


class Level(str, Enum):
    """Access to one dashboard."""

    view = "view"
    edit = "edit"
    admin = "admin"


class PrincipalKind(str, Enum):
    """Grants and memberships name a user or a group."""

    user = "user"
    group = "group"


_RANK = {Role.viewer: 1, Role.editor: 2, Role.admin: 3, Level.view: 1, Level.edit: 2, Level.admin: 3}
_LEVEL_OF = {Role.viewer: Level.view, Role.editor: Level.edit, Role.admin: Level.admin}
_ROLE_OF = {v: k for k, v in _LEVEL_OF.items()}


@dataclass(frozen=True)
class Principal:
    """The caller: a user name, the groups it belongs to, and whether it owns the server.

    Parameters
    ----------
    name
        ``current_user.username`` (under JupyterHub the Hub user, not the server owner).
    groups
        Group names (JupyterHub groups); grants to a group apply to its members.
    superuser
        The owner of a personal server: admin of every workspace.
    """

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    superuser: bool = False

    def matches(self, kind: str, name: str) -> bool:
        """Does a membership or grant ``(kind, name)`` apply to this principal?"""
        return (kind == PrincipalKind.user.value and name == self.name) or (
            kind == PrincipalKind.group.value and name in self.groups
        )


def rank(value: Role | Level | str | None) -> int:
    """0 for no access, then 1..3 for viewer/view .. admin."""
    if value is None:
        return 0
    if isinstance(value, str) and not isinstance(value, Role | Level):
        value = Role(value) if value in Role.__members__ else Level(value)
    return _RANK[value]


def level_of(role: Role) -> Level:
    """The dashboard level a workspace role gives on non-private dashboards."""
    return _LEVEL_OF[Role(role)]


def role_of(level: Level) -> Role:
    return _ROLE_OF[Level(level)]


def workspace_role(principal: Principal, memberships: Iterable[tuple[str, str, str]]) -> Role | None:
    """Highest role ``principal`` holds through ``(kind, name, role)`` memberships."""
    if principal.superuser:
        return Role.admin
    best: Role | None = None
    for kind, name, role in memberships:
        if principal.matches(kind, name) and rank(role) > rank(best):
            best = Role(role)
    return best


def dashboard_level(
    principal: Principal, ws_role: Role | None, *, owner: str, private: bool,
    grants: Iterable[tuple[str, str, str]] = (),
) -> Level | None:
    """Effective level of ``principal`` on one dashboard, or ``None`` (invisible: 404).

    Parameters
    ----------
    ws_role
        The principal's role in the dashboard's workspace (``None`` for non-members).
    owner
        The dashboard's owner (admin of it while a member of the workspace).
    private
        Private dashboards ignore viewer/editor workspace roles.
    grants
        ``(kind, name, level)`` per-dashboard grants; they apply to members and
        non-members alike (sharing one dashboard).
    """
    if principal.superuser or ws_role == Role.admin:
        return Level.admin
    best: Level | None = None
    if ws_role is not None and owner == principal.name:
        best = Level.admin
    elif ws_role is not None and not private:
        best = level_of(ws_role)
    for kind, name, level in grants:
        if principal.matches(kind, name) and rank(level) > rank(best):
            best = Level(level)
    return best


def can_grant(own: Role | Level | None, requested: Role | Level) -> bool:
    """A user can never grant a role or level higher than their own (SECURITY 23)."""
    return rank(requested) <= rank(own)
