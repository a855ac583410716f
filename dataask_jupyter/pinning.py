"""Pin a query result to a dashboard: what ``%%ask --pin`` and ``%%federate --pin`` call.

Personal mode goes through the core :class:`~dataask_jupyter.dashboards.DashboardsAPI` on
the shared metadata store, as the server's owner. Team mode would have to go through the
DataAsk Hub service (a kernel must not write the shared store itself); until that client
exists, pinning there is refused with what to set, never written locally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ConfigError, UsageError
from .safety import assert_read_only

__all__ = ["PinReceipt", "pin", "widget_kind"]

_KINDS = {"metric": "metric", "line": "line", "bar": "bar", "stacked_bar": "bar", "scatter": "scatter"}
REMOTE_ENV = "DATAASK_API_URL"


def widget_kind(chart: dict | None) -> str:
    """The dashboard widget kind for a chart spec from :func:`~.nl2sql.charts.choose_chart`."""
    kind = ((chart or {}).get("usermeta") or {}).get("dataask", {}).get("chart")
    return _KINDS.get(kind, "table")


@dataclass(frozen=True)
class PinReceipt:
    """Where a result was pinned."""

    workspace: str
    dashboard_id: int
    dashboard: str
    widget_id: str
    version: int
    created_dashboard: bool

    def __str__(self) -> str:
        new = " (new dashboard)" if self.created_dashboard else ""
        return (f"Pinned to dashboard '{self.dashboard}'{new} in workspace '{self.workspace}' as widget "
                f"{self.widget_id} (dashboard id {self.dashboard_id}, version {self.version}).")

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _refuse_team_mode(settings) -> None:
    if not settings.team:
        return
    if not os.environ.get(REMOTE_ENV):
        raise ConfigError(
            "--pin is not available in team mode without the DataAsk Hub service: a kernel does not write "
            "the shared store itself.",
            hint=f"Set {REMOTE_ENV} to the DataAsk Hub service URL (with JUPYTERHUB_API_TOKEN), or add the "
                 "widget from the dashboard editor.")
    raise ConfigError(
        f"--pin through the DataAsk Hub service ({REMOTE_ENV}) is not supported by this version yet; "
        "nothing was pinned.", hint="Add the widget from the dashboard editor.")


def pin(dataask, dashboard: str, *, workspace: str, title: str, sql: str, connection: str | None = None,
        federated: bool = False, chart: dict | None = None, row_count: int | None = None) -> PinReceipt:
    """Add a widget holding ``sql`` (and the chart template of ``chart``) to ``dashboard``.

    The dashboard is looked up by exact name in ``workspace`` and created (blank) when
    missing. The widget goes below the existing ones.

    Raises
    ------
    ConfigError
        Team mode (see module docstring).
    UnsafeSQL
        The SQL is not a single read-only statement.
    """
    from .dashboards import DashboardsAPI, Principal, Scope
    from .dashboards.api_models import SearchFilter
    from .dashboards.models import DashboardCreate, FederatedQuery, GridPos, SqlQuery, WidgetIn
    from .nl2sql.charts import chart_template

    _refuse_team_mode(dataask.settings)
    name = " ".join(dashboard.split())
    if not name:
        raise UsageError('Name the dashboard, e.g. --pin "Sales overview".')
    if not federated and not connection:
        raise UsageError("A pinned query needs its connection (or federated SQL).")
    assert_read_only(sql, dialect="duckdb" if federated else dataask.connections.dialect(connection, workspace))
    title = " ".join(title.split())[:200]
    ws = dataask.repo.get_workspace(workspace)
    api = DashboardsAPI.from_dataask(dataask)
    who = Principal(dataask.connections.actor, superuser=True)  # personal mode: the server's owner
    hits = [d for d in api.workspaces.search(who, SearchFilter(q=name, workspace_id=ws.id, limit=1000))
            if d.name == name]
    if len(hits) > 1:
        raise UsageError(f"Several dashboards in workspace '{workspace}' are named '{name}'.",
                         hint="Rename one of them, or pin from the dashboard editor.")
    created = not hits
    if created:
        grant = api.authorize(who, Scope.workspace, ws.id, "editor")
        dashboard_id = api.dashboards.create(grant, DashboardCreate(name=name, message="Created by --pin")).id
    else:
        dashboard_id = hits[0].id
    current = api.dashboards.widgets(api.authorize(who, Scope.dashboard, dashboard_id, "editor"))
    y = max((w.position.y + w.position.h for w in current), default=0)
    kind = widget_kind(chart)
    query = FederatedQuery(sql=sql) if federated else SqlQuery(connection=connection, sql=sql)
    options = {"pinned_rows": row_count} if row_count is not None else {}
    widget = WidgetIn(kind=kind, title=title, query=query,
                      spec=chart_template(chart) if kind != "table" else None, options=options,
                      position=GridPos(x=0, y=y, w=12 if kind == "table" else 6, h=4))
    out = api.dashboards.pin(who, dashboard_id, widget, workspace_id=ws.id, message=f"Pinned: {title}")
    return PinReceipt(workspace=workspace, dashboard_id=out.dashboard_id, dashboard=name, widget_id=out.id,
                      version=out.dashboard_version, created_dashboard=created)
