"""Run a widget's query through the core and return JSON-safe rows.

SQL on one connection goes through :meth:`ConnectionManager.execute` (read-only guard,
row cap, timeout, usage stats); federated SQL through
:class:`dataask_jupyter.federation.Federator` over the workspace's connections; a
dataset query runs the dataset's saved query. Connections always resolve inside the
dashboard's own workspace. Single-connection results are cached briefly (keyed by the
connection's identity, so re-pointing a connection misses); ``use_cache=False`` skips
the cache both ways. Every run is audited (never with rows or credentials).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import threading
import time
import uuid
from collections import OrderedDict

from ..errors import DataAskError, UsageError
from .access import Grant
from .api_models import RunIn, RunOut
from .events import EventBus, make_event
from .models import DashboardDoc, DatasetQuery, FederatedQuery, FlowQuery, SqlQuery

CACHE_TTL_SECONDS = 60.0
CACHE_ENTRIES = 256


def json_value(value):
    """One cell as a JSON-safe value (dates as ISO text, decimals as floats, bytes as base64)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def _rows(table, max_rows: int) -> list[list]:
    table = table.slice(0, max_rows)
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [[json_value(v) for v in row] for row in zip(*cols, strict=True)] if cols else []


class _TTLCache:
    def __init__(self, ttl: float, size: int) -> None:
        self.ttl, self.size = ttl, size
        self._data: OrderedDict[tuple, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> dict | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or time.monotonic() - hit[0] > self.ttl:
                self._data.pop(key, None)
                return None
            self._data.move_to_end(key)
            return hit[1]

    def put(self, key: tuple, value: dict) -> None:
        with self._lock:
            self._data[key] = (time.monotonic(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class WidgetRunner:
    """Runs widget queries for the API.

    Parameters
    ----------
    repo
        The workspace repository (datasets, audit).
    connections
        The process's :class:`~dataask_jupyter.connections.ConnectionManager`.
    events
        Where "widget results refreshed" is published.
    settings
        For the federation engine's defaults (cache folder, row cap, timeout).
    """

    def __init__(self, repo, connections, events: EventBus, settings=None) -> None:
        self.repo, self.connections, self.events, self.settings = repo, connections, events, settings
        self._cache = _TTLCache(CACHE_TTL_SECONDS, CACHE_ENTRIES)
        self._federator = None
        self._federator_lock = threading.Lock()

    def federator(self):
        """The shared :class:`Federator`, or a clear 400 when federation is not installed."""
        with self._federator_lock:
            if self._federator is None:
                try:
                    from ..federation import Federator
                except ImportError:
                    raise UsageError("Federated widgets are not available in this installation yet.") from None
                self._federator = (Federator.from_settings(self.settings) if self.settings is not None
                                   else Federator())
            return self._federator

    def resolve(self, g: Grant, widget_id: str):
        """The widget and the query it runs (a dataset query resolves to the dataset's query)."""
        doc = DashboardDoc.model_validate(g.dashboard.document)
        widget = next((w for w in doc.widgets if w.id == widget_id), None)
        if widget is None:
            from ..errors import NotFound

            raise NotFound(f"Dashboard has no widget '{widget_id}'.")
        if widget.query is None:
            raise UsageError("This widget has no query to run (text widgets show their text).")
        query = widget.query
        if isinstance(query, DatasetQuery):
            ds = self.repo.dataset(query.dataset_id)
            if ds is None or ds.workspace_id != g.workspace.id:
                raise UsageError(f"Dataset {query.dataset_id} no longer exists in this workspace.")
            kind = ds.query.get("kind")
            query = (SqlQuery(**ds.query) if kind == "sql" else FlowQuery(**ds.query) if kind == "flow"
                     else FederatedQuery(**ds.query))
        if isinstance(query, FlowQuery):
            query = self._flow_query(g, query)
        return widget, query

    def _flow_query(self, g: Grant, query: FlowQuery) -> SqlQuery | FederatedQuery:
        """A saved prep flow as SQL: on its one connection, or federated across several."""
        from types import SimpleNamespace

        from ..prep.api import PrepSession
        from ..prep.flow import Flow

        flow = Flow.parse(query.flow)
        session = PrepSession(SimpleNamespace(connections=self.connections, settings=self.settings),
                              g.workspace.name, federate=False)
        sql = session.sql(flow)
        names = flow.connections()
        return SqlQuery(connection=names[0], sql=sql) if len(names) == 1 else FederatedQuery(sql=sql)

    def run(self, g: Grant, widget_id: str, body: RunIn) -> RunOut:
        """Run the widget's query and return up to ``body.max_rows`` rows."""
        widget, query = self.resolve(g, widget_id)
        detail = {"dashboard": g.dashboard.id, "widget": widget_id, "kind": query.kind}
        started = time.perf_counter()
        try:
            if isinstance(query, SqlQuery):
                result = self._run_sql(g, query, body)
            else:
                result = self._run_federated(g, query, body)
        except DataAskError as exc:
            self.repo.audit(g.actor, "query.run", target_type="widget", target=widget_id,
                            workspace_id=g.workspace.id, outcome="error", detail={**detail, "error": exc.code})
            raise
        self.repo.audit(g.actor, "query.run", target_type="widget", target=widget_id, workspace_id=g.workspace.id,
                        detail={**detail, "rows": result["row_count"], "cache": result["cache"],
                                "ms": round((time.perf_counter() - started) * 1000, 1)})
        self.events.publish(make_event("widget.results", g.workspace.id, g.actor, dashboard_id=g.dashboard.id,
                                       widget_id=widget_id, private=g.dashboard.private))
        return RunOut(dashboard_id=g.dashboard.id, widget_id=widget.id, **result)

    def _run_sql(self, g: Grant, query: SqlQuery, body: RunIn) -> dict:
        ws = g.workspace.name
        key = (self.connections.identity(query.connection, ws), query.sql, body.max_rows)
        if body.use_cache and (hit := self._cache.get(key)) is not None:
            return {**hit, "cache": "hit"}
        res = self.connections.execute(query.connection, query.sql, workspace=ws, max_rows=body.max_rows)
        out = {"columns": list(res.columns), "rows": _rows(res.table, body.max_rows), "row_count": res.row_count,
               "truncated": res.truncated, "seconds": round(res.seconds, 4)}
        if body.use_cache:
            self._cache.put(key, out)
        return {**out, "cache": "miss" if body.use_cache else "off"}

    def _run_federated(self, g: Grant, query: FederatedQuery, body: RunIn) -> dict:
        from ..connections.sources import managed_sources

        fed = self.federator()
        res = fed.run(query.sql, sources=managed_sources(self.connections, g.workspace.name),
                      max_rows=body.max_rows, use_cache=body.use_cache)
        return {"columns": list(res.columns), "rows": res.rows(body.max_rows), "row_count": res.row_count,
                "truncated": res.truncated, "seconds": round(res.seconds.get("total", 0.0), 4), "cache": res.cache}
