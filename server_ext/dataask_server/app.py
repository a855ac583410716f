"""Wire the DataAsk core into a running Jupyter Server."""

from __future__ import annotations

from jupyter_server.utils import url_path_join

from dataask_jupyter.core import DataAsk

from .connections import ConnectionHandler, ConnectionsHandler, ConnectionTestHandler

NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_]{0,62})"
ROUTES = [
    (r"/dataask/api/connections", ConnectionsHandler),
    (rf"/dataask/api/connections/{NAME}", ConnectionHandler),
    (rf"/dataask/api/connections/{NAME}/test", ConnectionTestHandler),
]


def load_extension(serverapp, dataask: DataAsk | None = None) -> DataAsk:
    """Register the routes; one :class:`DataAsk` per server process."""
    dataask = dataask or DataAsk()
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$", [(url_path_join(base, pattern), handler, {"dataask": dataask}) for pattern, handler in ROUTES]
    )
    serverapp.log.info("DataAsk API at %s", url_path_join(base, "dataask/api/"))
    return dataask
