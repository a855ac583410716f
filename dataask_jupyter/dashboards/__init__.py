"""Dashboards: workspaces, members and roles, folders, dashboards with versions, widgets,
datasets, templates, recents, search, audit and live events (no web framework here).

Entry point: :class:`DashboardsAPI` (``DashboardsAPI.from_dataask(dataask)``). Callers
authorize first (``api.authorize(principal, "dashboard", id, "editor")`` returns a
:class:`Grant`) and pass the grant to one operation.
"""

from __future__ import annotations

from .access import Authorizer, Grant, Scope
from .api import DashboardsAPI
from .events import EventBus, make_event
from .roles import Level, Principal, PrincipalKind, Role, can_grant, dashboard_level, workspace_role
from .templates import list_templates, template_names

__all__ = [
    "Authorizer", "DashboardsAPI", "EventBus", "Grant", "Level", "Principal", "PrincipalKind", "Role", "Scope",
    "can_grant", "dashboard_level", "list_templates", "make_event", "template_names", "workspace_role",
]
