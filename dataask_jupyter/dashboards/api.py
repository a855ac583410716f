"""The dashboards API as one object: what the server extension (and later the kernel
side) calls. Build it once per process with :meth:`DashboardsAPI.from_dataask`."""

from __future__ import annotations

from ..store import SQLWorkspaceRepository
from .access import Authorizer, Grant, Scope
from .events import EventBus
from .queries import QueryChecker
from .roles import Principal, Role
from .runner import WidgetRunner
from .service import Dashboards
from .workspaces import Workspaces


class DashboardsAPI:
    """Workspaces, dashboards, widget runs, authorization and live events.

    Parameters
    ----------
    repo
        A :class:`~dataask_jupyter.store.WorkspaceRepository`.
    connections
        The :class:`~dataask_jupyter.connections.ConnectionManager` (widget runs and
        query checks); ``None`` disables both.
    settings
        :class:`~dataask_jupyter.config.Settings` (federation defaults).
    events
        A shared :class:`EventBus` (a new one by default).
    """

    def __init__(self, repo, connections=None, settings=None, events: EventBus | None = None) -> None:
        self.repo = repo
        self.events = events or EventBus()
        self.authz = Authorizer(repo)
        queries = QueryChecker(repo, connections)
        self.workspaces = Workspaces(repo, self.authz, self.events, queries)
        self.dashboards = Dashboards(repo, self.authz, self.events, queries, self.workspaces)
        self.runner = WidgetRunner(repo, connections, self.events, settings)

    @classmethod
    def from_dataask(cls, dataask, events: EventBus | None = None) -> DashboardsAPI:
        """The API over a :class:`~dataask_jupyter.core.DataAsk`'s store and connections."""
        return cls(SQLWorkspaceRepository.from_store(dataask.repo), dataask.connections, dataask.settings, events)

    def authorize(self, principal: Principal, scope: Scope | str, key=None, minimum: Role | str = Role.viewer) -> Grant:
        """See :meth:`Authorizer.authorize`."""
        return self.authz.authorize(principal, scope, key, minimum)
