"""Pin a query result to a dashboard: what ``%%ask --pin`` and ``%%federate --pin`` call.

Personal mode goes through the core :class:`~dataask_jupyter.dashboards.DashboardsAPI` on
the shared metadata store, as the server's owner. Team mode never writes the shared store
from a kernel: it calls the DataAsk API of the Hub service (``DATAASK_API_URL``, the base
URL ending in ``/dataask/api``) with the user's token (``DATAASK_API_TOKEN``, else
``JUPYTERHUB_API_TOKEN``), so the service checks the user's role; without a URL and a token
it refuses and says what to set.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import (
    NotFound,
    UsageError,
)
from .hub_client import HubClient, hub_client
from .safety import assert_read_only

__all__ = ["PinReceipt", "pin", "widget_kind"]

_KINDS = {"metric": "metric", "line": "line", "bar": "bar", "stacked_bar": "bar", "scatter": "scatter"}


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


def _widget(title: str, sql: str, connection: str | None, federated: bool, chart: dict | None,
            row_count: int | None):
    from .dashboards.models import FederatedQuery, SqlQuery, WidgetIn
    from .nl2sql.charts import chart_template

    kind = widget_kind(chart)
    query = FederatedQuery(sql=sql) if federated else SqlQuery(connection=connection, sql=sql)
    options = {"pinned_rows": row_count} if row_count is not None else {}
    return WidgetIn(kind=kind, title=title, query=query, spec=chart_template(chart) if kind != "table" else None,
                    options=options)


def _place(widget, below: int):
    from .dashboards.models import GridPos

    wide = widget.kind == "table"
    return widget.model_copy(update={"position": GridPos(x=0, y=below, w=12 if wide else 6, h=4)})


def pin(dataask, dashboard: str, *, workspace: str, title: str, sql: str, connection: str | None = None,
        federated: bool = False, chart: dict | None = None, row_count: int | None = None) -> PinReceipt:
    """Add a widget holding ``sql`` (and the chart template of ``chart``) to ``dashboard``.

    The dashboard is looked up by exact name in ``workspace`` and created (blank) when
    missing. The widget goes below the existing ones.

    Raises
    ------
    ConfigError
        Team mode without ``DATAASK_API_URL`` and a token (see module docstring).
    UnsafeSQL
        The SQL is not a single read-only statement.
    """
    name = " ".join(dashboard.split())
    if not name:
        raise UsageError('Name the dashboard, e.g. --pin "Sales overview".')
    if not federated and not connection:
        raise UsageError("A pinned query needs its connection (or federated SQL).")
    sql = sql.strip().rstrip(";").strip()
    assert_read_only(sql, dialect="duckdb" if federated else dataask.connections.dialect(connection, workspace))
    widget = _widget(" ".join(title.split())[:200], sql, connection, federated, chart, row_count)
    if dataask.settings.team:
        return _pin_remote(_remote(), name, workspace, widget)
    return _pin_local(dataask, name, workspace, widget)


def find_dashboard(api, who, workspace_id: int, workspace: str, name: str) -> int | None:
    """The id of the dashboard named exactly ``name`` in the workspace, ``None`` when there is none."""
    from .dashboards.api_models import SearchFilter

    hits = [d for d in api.workspaces.search(who, SearchFilter(q=name, workspace_id=workspace_id, limit=1000))
            if d.name == name]
    if len(hits) > 1:
        raise UsageError(f"Several dashboards in workspace '{workspace}' are named '{name}'.",
                         hint="Rename one of them, or use the dashboard editor.")
    return hits[0].id if hits else None


def _pin_local(dataask, name: str, workspace: str, widget) -> PinReceipt:
    from .dashboards import DashboardsAPI, Principal, Scope
    from .dashboards.models import DashboardCreate

    ws = dataask.repo.get_workspace(workspace)
    api = DashboardsAPI.from_dataask(dataask)
    who = Principal(dataask.connections.actor, superuser=True)  # personal mode: the server's owner
    dashboard_id = find_dashboard(api, who, ws.id, workspace, name)
    created = dashboard_id is None
    if created:
        grant = api.authorize(who, Scope.workspace, ws.id, "editor")
        dashboard_id = api.dashboards.create(grant, DashboardCreate(name=name, message="Created by --pin")).id
    current = api.dashboards.widgets(api.authorize(who, Scope.dashboard, dashboard_id, "editor"))
    below = max((w.position.y + w.position.h for w in current), default=0)
    out = api.dashboards.pin(who, dashboard_id, _place(widget, below), workspace_id=ws.id,
                             message=f"Pinned: {widget.title}")
    return PinReceipt(workspace=workspace, dashboard_id=out.dashboard_id, dashboard=name, widget_id=out.id,
                      version=out.dashboard_version, created_dashboard=created)


# -- team mode: through the Hub service's API ------------------------------------------------------
def _remote(doing: str = "--pin", nothing: str = "nothing was pinned") -> HubClient:
    return hub_client(f"{doing} in team mode goes through the DataAsk Hub service; a kernel does not write the "
                      f"shared store itself, so {nothing}.", action="pin" if doing == "--pin" else "export")


def find_remote_dashboard(remote: HubClient, workspace: str, name: str) -> tuple[int, int | None]:
    """``(workspace id, dashboard id or None)`` on the Hub service, for the exact names."""
    spaces = remote.call("GET", "workspaces")["items"]
    ws = next((w for w in spaces if w["name"] == workspace), None)
    if ws is None:
        raise NotFound(f"No workspace named '{workspace}' that you are a member of on the DataAsk Hub service.")
    found = remote.call("GET", "search", params={"q": name, "workspace_id": ws["id"], "limit": 1000})["items"]
    hits = [d for d in found if d["name"] == name]
    if len(hits) > 1:
        raise UsageError(f"Several dashboards in workspace '{workspace}' are named '{name}'.")
    return ws["id"], (hits[0]["id"] if hits else None)


def _pin_remote(remote: HubClient, name: str, workspace: str, widget) -> PinReceipt:
    ws_id, dashboard_id = find_remote_dashboard(remote, workspace, name)
    created = dashboard_id is None
    if created:
        dashboard_id = remote.call("POST", f"workspaces/{ws_id}/dashboards",
                                   {"name": name, "message": "Created by --pin"})["id"]
    current = remote.call("GET", f"dashboards/{dashboard_id}/widgets")["items"]
    below = max((w["position"]["y"] + w["position"]["h"] for w in current), default=0)
    body = {**_place(widget, below).model_dump(mode="json", exclude_none=True),
            "message": f"Pinned: {widget.title}"}
    out = remote.call("POST", f"dashboards/{dashboard_id}/widgets", body)
    return PinReceipt(workspace=workspace, dashboard_id=out["dashboard_id"], dashboard=name, widget_id=out["id"],
                      version=out["dashboard_version"], created_dashboard=created)
