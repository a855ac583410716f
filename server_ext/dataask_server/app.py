"""Wire the DataAsk core into a running Jupyter Server.

``ROUTES`` is the one route table: the server registers it, the OpenAPI document is
generated from it, and the authorization-matrix test walks it. Path parameters are
named groups without nested parentheses (the OpenAPI generator relies on that).
"""

from __future__ import annotations

import os

from jupyter_server.utils import url_path_join

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.dashboards import DashboardsAPI
from dataask_jupyter.dashboards.redis_events import event_bus
from dataask_jupyter.hub_client import REMOTE_ENV, hub_client

from . import conversations as c
from . import dashboards as d
from . import misc
from . import queries as q
from . import widgets as w
from . import workspaces as ws
from .ask import AskHandler
from .connections import ConnectionHandler, ConnectionsHandler, ConnectionTestHandler
from .events import EventsHandler
from .forward import ForwardEventsHandler, ForwardHandler, Target, compile_routes
from .identity import OwnerPolicy

API = "/dataask/api"
NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_]{0,62})"
ID = r"\d{1,15}"
WS = rf"{API}/workspaces/(?P<ws>{ID})"
DASH = rf"{API}/dashboards/(?P<dashboard>{ID})"
MEMBER = r"(?P<kind>user|group)/(?P<member>[^/]{1,200})"
ROUTES = [
    (f"{API}/connections", ConnectionsHandler),
    (rf"{API}/connections/{NAME}", ConnectionHandler),
    (rf"{API}/connections/{NAME}/test", ConnectionTestHandler),
    (rf"{API}/connections/{NAME}/query", q.ConnectionQueryHandler),
    (rf"{API}/connections/{NAME}/tables", q.ConnectionTablesHandler),
    (rf"{API}/connections/{NAME}/tables/(?P<table>[^/]{{1,200}})", q.ConnectionTableHandler),
    (f"{API}/workspaces", ws.WorkspacesHandler),
    (WS, ws.WorkspaceHandler),
    (f"{WS}/members", ws.MembersHandler),
    (f"{WS}/members/{MEMBER}", ws.MemberHandler),
    (f"{WS}/folders", ws.FoldersHandler),
    (rf"{WS}/folders/(?P<folder>{ID})", ws.FolderHandler),
    (f"{WS}/dashboards", d.DashboardsHandler),
    (f"{WS}/datasets", ws.DatasetsHandler),
    (f"{WS}/audit", ws.AuditHandler),
    (f"{WS}/conversations", c.ConversationsHandler),
    (rf"{WS}/conversations/(?P<conversation>{ID})/turns", c.TurnsHandler),
    (f"{WS}/history", c.HistoryHandler),
    (f"{WS}/knowledge", c.KnowledgeHandler),
    (f"{WS}/knowledge/instructions", c.InstructionsHandler),
    (f"{WS}/knowledge/sql_pairs", c.SqlPairsHandler),
    (rf"{WS}/knowledge/(?P<ref>[ip]{ID})", c.KnowledgeEntryHandler),
    (DASH, d.DashboardHandler),
    (f"{DASH}/clone", d.CloneHandler),
    (f"{DASH}/versions", d.VersionsHandler),
    (rf"{DASH}/versions/(?P<number>{ID})", d.VersionHandler),
    (rf"{DASH}/versions/(?P<number>{ID})/restore", d.RestoreHandler),
    (f"{DASH}/diff", d.DiffHandler),
    (f"{DASH}/permissions", d.PermissionsHandler),
    (f"{DASH}/permissions/{MEMBER}", d.PermissionHandler),
    (f"{DASH}/widgets", w.WidgetsHandler),
    (rf"{DASH}/widgets/(?P<widget>[A-Za-z0-9_-]{{1,40}})", w.WidgetHandler),
    (rf"{DASH}/widgets/(?P<widget>[A-Za-z0-9_-]{{1,40}})/run", w.WidgetRunHandler),
    (rf"{API}/datasets/(?P<dataset>{ID})", ws.DatasetHandler),
    (f"{API}/recents", misc.RecentsHandler),
    (f"{API}/search", misc.SearchHandler),
    (f"{API}/templates", misc.TemplatesHandler),
    (f"{API}/ask", AskHandler),
    (f"{API}/openapi.json", misc.OpenAPIHandler),
]
WEBSOCKETS = [(f"{API}/events", EventsHandler)]
#: a team-mode user server's routes: the events WebSocket bridged, everything else forwarded
FORWARD_ROUTES = [(f"{API}/events", ForwardEventsHandler), (rf"{API}/(?P<path>.*)", ForwardHandler)]


def forwarding(settings) -> bool:
    """A team-mode user server: ``DATAASK_API_URL`` set and no store of its own (not the service)."""
    return settings.team and not settings.store_url and bool(os.environ.get(REMOTE_ENV, "").strip())


def load_extension(serverapp, dataask: DataAsk | None = None) -> DataAsk | None:
    """Register the routes; one :class:`DataAsk` and one :class:`DashboardsAPI` per server process.

    The extension opens the store itself (:meth:`DataAsk.local`): in personal mode, and in team
    mode when it is the Hub service, which holds the store and the key that kernels reach over
    HTTP. A team-mode user server (:func:`forwarding`) opens nothing and forwards every
    ``/dataask/api/`` request to the service (:mod:`.forward`); it returns ``None``.
    """
    settings = dataask.settings if dataask is not None else Settings.from_env()
    if dataask is None and forwarding(settings):
        return _load_forwarding(serverapp, settings)
    dataask = dataask or DataAsk.local(settings)
    events = event_bus(dataask.settings)  # over Redis when DATAASK_REDIS_URL is set
    api = DashboardsAPI.from_dataask(dataask, events)
    _on_shutdown(serverapp, events.close)
    policy = OwnerPolicy.from_server(serverapp, dataask.settings)
    base = serverapp.web_app.settings["base_url"]
    kwargs = {"dataask": dataask, "api": api, "owner_policy": policy}
    serverapp.web_app.add_handlers(
        ".*$", [(url_path_join(base, pattern), handler, kwargs) for pattern, handler in ROUTES + WEBSOCKETS]
    )
    serverapp.web_app.settings["dataask_api"] = api
    serverapp.log.info("DataAsk API at %s", url_path_join(base, "dataask/api/"))
    if dataask.settings.redis_url:
        serverapp.log.info("DataAsk live events shared through Redis (channel %s)", events.channel)
    return dataask


def _load_forwarding(serverapp, settings) -> None:
    client = hub_client("A team-mode user server forwards DataAsk to the Hub service.", action="request")
    policy = OwnerPolicy.from_server(serverapp, settings)
    target = Target(client.base, client.token, policy.owner, policy.single_user)
    base = serverapp.web_app.settings["base_url"]
    kwargs = {"target": target, "routes": compile_routes(ROUTES)}
    handlers = [(url_path_join(base, pattern), handler, kwargs) for pattern, handler in FORWARD_ROUTES]
    serverapp.web_app.add_handlers(".*$", handlers)
    serverapp.log.info("DataAsk API at %s, forwarded to the DataAsk Hub service (team mode)",
                       url_path_join(base, "dataask/api/"))


def _on_shutdown(serverapp, callback) -> None:
    """Run ``callback`` when the server shuts its extensions down.

    jupyter_server calls stop hooks on ExtensionApp extensions only; this module-style
    extension chains its own onto the server's ``cleanup_extensions``.
    """
    cleanup = serverapp.cleanup_extensions

    async def cleanup_extensions() -> None:
        try:
            callback()
        finally:
            await cleanup()

    serverapp.cleanup_extensions = cleanup_extensions
