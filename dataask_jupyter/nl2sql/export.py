"""Export a ``%%ask`` conversation as a dashboard: what ``%dataask history --export`` and
``dataask history --export`` call.

Every stored turn with SQL becomes one widget: the question as its title, its SQL (or
federated SQL) as the query on the connection it ran on, and its chart template as the
Vega-Lite spec (a table widget when the turn had no chart). Turns hold no rows, so the
dashboard holds none either; its widgets run their queries when shown.

The widgets go through the same dashboards API as ``--pin`` (roles, query checks, versions,
audit) and are written in one save: a new dashboard is created with all of them (version
1), an existing one gets them appended below its widgets as one new version. Team mode
goes through the Hub service's API like ``--pin`` (see :mod:`dataask_jupyter.pinning`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import NotFound, UsageError
from ..pinning import _remote, _widget, find_dashboard, find_remote_dashboard
from ..safety import assert_read_only

__all__ = ["ExportReceipt", "export_conversation"]

GRID_COLUMNS = 12
CHART_WIDTH = 6
WIDGET_HEIGHT = 4
MAX_TURNS = 500  # the dashboard model's widget limit
_DOC_FIELDS = ("name", "description", "tags", "folder_id", "private", "layout")


@dataclass(frozen=True)
class ExportReceipt:
    """Where a conversation was exported."""

    workspace: str
    conversation_id: int
    dashboard_id: int
    dashboard: str
    version: int
    created_dashboard: bool
    widget_ids: list[str] = field(default_factory=list)
    skipped: int = 0

    def __str__(self) -> str:
        new = " (new dashboard)" if self.created_dashboard else ""
        skipped = f"; {self.skipped} turn(s) without a runnable query skipped" if self.skipped else ""
        return (f"Exported {len(self.widget_ids)} question(s) of conversation {self.conversation_id} to dashboard "
                f"'{self.dashboard}'{new} in workspace '{self.workspace}' (dashboard id {self.dashboard_id}, "
                f"version {self.version}){skipped}.")

    def to_dict(self) -> dict:
        return {**self.__dict__, "widget_ids": list(self.widget_ids)}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": str(self)}


def layout(widgets: list, below: int) -> list:
    """Place ``widgets`` in a grid under row ``below``: charts two per row, tables full width."""
    from ..dashboards.models import GridPos

    out, x, y = [], 0, below
    for w in widgets:
        width = GRID_COLUMNS if w.kind == "table" else CHART_WIDTH
        if x + width > GRID_COLUMNS:
            x, y = 0, y + WIDGET_HEIGHT
        out.append(w.model_copy(update={"position": GridPos(x=x, y=y, w=width, h=WIDGET_HEIGHT)}))
        x += width
    return out


def _bottom(widgets: list[dict]) -> int:
    return max((w["position"]["y"] + w["position"]["h"] for w in widgets), default=0)


def _turns(dataask, workspace_id: int, workspace: str, conversation_id: int | None, actor: str):
    repo = dataask.repo
    if conversation_id is None:
        conv = repo.latest_conversation(workspace_id, actor)
        if conv is None:
            raise UsageError(f"No conversation to export in workspace '{workspace}' yet.",
                             hint='Ask a question first, e.g. %ask total revenue by year')
        conversation_id = conv.id
    turns = repo.turns(int(conversation_id), MAX_TURNS)
    if turns and turns[0].workspace_id != workspace_id:
        raise NotFound(f"Conversation {conversation_id} is not in workspace '{workspace}'.")
    return int(conversation_id), turns


def _widgets(dataask, workspace: str, turns) -> tuple[list, int]:
    widgets, skipped = [], 0
    for t in turns:
        sql = (t.sql or "").strip().rstrip(";").strip()
        connection = None if t.federated else next(iter(t.connections), None)
        if not sql or (not t.federated and not connection):
            skipped += 1
            continue
        dialect = "duckdb" if t.federated else dataask.connections.dialect(connection, workspace)
        assert_read_only(sql, dialect=dialect)
        widgets.append(_widget(" ".join(t.question.split())[:200], sql, connection, t.federated, t.chart,
                               t.row_count))
    return widgets, skipped


def export_conversation(dataask, dashboard: str, *, workspace: str, conversation_id: int | None = None,
                        actor: str | None = None) -> ExportReceipt:
    """Add one widget per answered question of a conversation to the dashboard named ``dashboard``.

    Parameters
    ----------
    dataask
        The :class:`~dataask_jupyter.core.DataAsk` (its store holds the conversations).
    dashboard
        Exact name of a dashboard of ``workspace``; created when missing, appended to otherwise.
    workspace
        The workspace of the conversation and the dashboard.
    conversation_id
        The conversation; ``None`` for ``actor``'s latest one in the workspace.
    actor
        Whose latest conversation (default: ``dataask.connections.actor``).

    Raises
    ------
    UsageError
        No conversation, or none of its turns has a query to export.
    ConfigError
        Team mode without ``DATAASK_API_URL`` and a token.
    UnsafeSQL
        A stored SQL is not a single read-only statement.
    """
    name = " ".join((dashboard or "").split())
    if not name:
        raise UsageError('Name the dashboard, e.g. %dataask history --export "Sales overview".')
    actor = actor or dataask.connections.actor
    ws_id = dataask.repo.get_workspace(workspace).id
    conversation_id, turns = _turns(dataask, ws_id, workspace, conversation_id, actor)
    widgets, skipped = _widgets(dataask, workspace, turns)
    if not widgets:
        raise UsageError(f"Conversation {conversation_id} has no answered question with SQL to export; "
                         "nothing was written.", hint="Ask a question first (%ask ...), then export again.")
    message = f"Exported conversation {conversation_id} ({len(widgets)} questions)"
    if dataask.settings.team:
        remote = _remote("Exporting a conversation", "nothing was exported")
        out, created = _export_remote(remote, name, workspace, widgets, message)
    else:
        out, created = _export_local(dataask, name, ws_id, workspace, widgets, message)
    new_ids = [w["id"] for w in out["widgets"][len(out["widgets"]) - len(widgets):]]
    return ExportReceipt(workspace=workspace, conversation_id=conversation_id, dashboard_id=out["id"], dashboard=name,
                         version=out["version"], created_dashboard=created, widget_ids=new_ids, skipped=skipped)


def _dump(widgets: list) -> list[dict]:
    return [w.model_dump(mode="json", exclude_none=True) for w in widgets]


def _export_local(dataask, name: str, ws_id: int, workspace: str, widgets: list, message: str):
    from ..dashboards import DashboardsAPI, Principal, Scope
    from ..dashboards.models import DashboardCreate, DashboardUpdate
    from ..dashboards.service import dashboard_out

    api = DashboardsAPI.from_dataask(dataask)
    who = Principal(dataask.connections.actor, superuser=True)  # personal mode: the server's owner
    dashboard_id = find_dashboard(api, who, ws_id, workspace, name)
    if dashboard_id is None:
        grant = api.authorize(who, Scope.workspace, ws_id, "editor")
        out = api.dashboards.create(grant, DashboardCreate(name=name, widgets=_dump(layout(widgets, 0)),
                                                           message=message))
        return out.model_dump(mode="json"), True
    grant = api.authorize(who, Scope.dashboard, dashboard_id, "editor")
    doc = dashboard_out(grant.dashboard, grant.level).model_dump(mode="json")
    body = DashboardUpdate(**{k: doc[k] for k in _DOC_FIELDS}, version=doc["version"], message=message,
                           widgets=[*doc["widgets"], *_dump(layout(widgets, _bottom(doc["widgets"])))])
    return api.dashboards.update(grant, body).model_dump(mode="json"), False


def _export_remote(remote, name: str, workspace: str, widgets: list, message: str):
    ws_id, dashboard_id = find_remote_dashboard(remote, workspace, name)
    if dashboard_id is None:
        body = {"name": name, "widgets": _dump(layout(widgets, 0)), "message": message}
        return remote.call("POST", f"workspaces/{ws_id}/dashboards", body), True
    doc = remote.call("GET", f"dashboards/{dashboard_id}")
    body = {**{k: doc[k] for k in _DOC_FIELDS}, "version": doc["version"], "message": message,
            "widgets": [*doc["widgets"], *_dump(layout(widgets, _bottom(doc["widgets"])))]}
    return remote.call("PUT", f"dashboards/{dashboard_id}", body), False
