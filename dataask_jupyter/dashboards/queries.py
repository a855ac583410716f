"""Checks on the queries widgets and datasets hold, made when they are saved.

Editing a query re-checks what it reaches (SECURITY 23): a SQL query must name a
connection of the dashboard's own workspace, a prep flow only connections of that workspace,
a dataset query a dataset of that workspace. Federated SQL is planned (and its connections resolved in the same
workspace) when it runs. Only queries that changed are checked, so removing a
connection does not block unrelated edits of a dashboard that still mentions it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import UsageError, did_you_mean
from ..store.workspace_records import WorkspaceRec
from .models import DatasetQuery, FlowQuery, SqlQuery


class QueryChecker:
    def __init__(self, repo, connections=None) -> None:
        self.repo = repo
        self.connections = connections

    def check(self, ws: WorkspaceRec, query) -> None:
        """Raise :class:`UsageError` when ``query`` reaches outside workspace ``ws``."""
        if isinstance(query, SqlQuery) and self.connections is not None:
            names = self.connections.names(ws.name)
            if query.connection not in names:
                raise UsageError(
                    f"No connection named '{query.connection}' in workspace '{ws.name}'."
                    f"{did_you_mean(query.connection, names)}",
                    hint="Add the connection to this workspace first, or pick one of its connections.")
        elif isinstance(query, FlowQuery) and self.connections is not None:
            from ..prep.flow import Flow

            names = self.connections.names(ws.name)
            for name in Flow.parse(query.flow).connections():
                if name not in names:
                    raise UsageError(
                        f"The flow reads connection '{name}', which is not in workspace '{ws.name}'."
                        f"{did_you_mean(name, names)}",
                        hint="Add the connection to this workspace first, or change the flow's tables.")
        elif isinstance(query, DatasetQuery):
            ds = self.repo.dataset(query.dataset_id)
            if ds is None or ds.workspace_id != ws.id:
                raise UsageError(f"Dataset {query.dataset_id} does not exist in this workspace.")

    def check_widgets(self, ws: WorkspaceRec, widgets: Iterable, previous: Iterable = ()) -> None:
        """Check the query of every widget that is new or whose query changed."""
        before = {w.id: w.query for w in previous}
        for widget in widgets:
            if widget.query is not None and (widget.id not in before or before[widget.id] != widget.query):
                self.check(ws, widget.query)
