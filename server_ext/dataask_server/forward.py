"""A team-mode user server forwards ``/dataask/api/`` to the DataAsk Hub service.

In team mode a user's own Jupyter server holds neither the shared store nor the key
(SECURITY 6). When it runs with ``DATAASK_API_URL`` (and no ``DATAASK_STORE_URL``, i.e. it is
not the service itself), every REST request and the events WebSocket go to the service with
the server's token (``DATAASK_API_TOKEN`` or ``JUPYTERHUB_API_TOKEN``), which the service
resolves to the server's owner. Hence only the owner may use the forward: anyone else
reaching this server (a JupyterHub share, SECURITY 28) gets a 403 telling them to open
DataAsk from their own server.

Local authentication, ``@authorized`` and XSRF on writes run first (:class:`DataAskHandler`),
then the route's body limit; method, path, query string (minus jupyter_server's ``token``
and ``_xsrf``), body, status, answer, its content type and ``X-DataAsk-*`` headers pass unchanged, the service's
error shape included. The service unreachable is our 503 ``store_unavailable``; no message
names the URL or the token.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import httpclient, web, websocket
from tornado.ioloop import IOLoop

from dataask_jupyter.errors import Forbidden, StoreUnavailable

from .base import DataAskHandler
from .endpoint import ATTR as ENDPOINT_ATTR
from .endpoint import IGNORED_QUERY

FORWARD_TIMEOUT = 600.0  # an ask or a federated query runs under the service's own time limits
CONNECT_TIMEOUT = 10.0
PASSED_HEADERS = ("Content-Type", "Location")
UNREACHABLE = "The DataAsk Hub service is unreachable; try again shortly."


@dataclass(frozen=True)
class Target:
    """Where the service is (``.../dataask/api``), the server's token and its owner."""

    api_url: str
    token: str
    owner: str | None
    single_user: bool = False

    def allows(self, user) -> bool:
        """Only the server's owner may act through the server's token."""
        if self.single_user:  # jupyter_server's own token: whoever holds it owns the server
            return True
        name = getattr(user, "username", None)
        return self.owner is not None and name == self.owner

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}


def refusal() -> Forbidden:
    return Forbidden("Only this server's owner can use DataAsk here; open DataAsk from your own server.")


class ForwardHandler(DataAskHandler):
    """Every ``/dataask/api/<path>`` REST request, answered by the Hub service."""

    auth_resource = "dataask"

    def initialize(self, target: Target, routes=()) -> None:
        super().initialize(None)
        self.target, self.routes = target, routes

    def route_body_limit(self) -> int:
        """The local route's limit (from its ``@endpoint``), the default for unknown paths."""
        path = "/" + self._raw_path()
        for pattern, handler in self.routes:
            if pattern.fullmatch(path):
                fn = getattr(handler, (self.request.method or "").lower(), None)
                spec = getattr(fn, ENDPOINT_ATTR, None)
                return (spec.body_limit if spec is not None else None) or handler.body_limit
        return self.body_limit

    def _raw_path(self) -> str:
        """The path after ``/dataask/api/`` as sent (still percent-encoded: ``a%2Fb`` stays one segment)."""
        return self.request.path.split("/dataask/api/", 1)[-1]

    def _url(self) -> str:
        query = [(k, v) for k, v in urllib.parse.parse_qsl(self.request.query, keep_blank_values=True)
                 if k not in IGNORED_QUERY]
        return f"{self.target.api_url}/{self._raw_path()}" + (f"?{urllib.parse.urlencode(query)}" if query else "")

    async def _forward(self) -> None:
        if not self.target.allows(self.current_user):
            raise refusal()
        method = self.request.method
        body = self.request_body() if method in ("POST", "PUT", "PATCH") else None
        headers = self.target.headers()
        headers["Accept"] = self.request.headers.get("Accept", "application/json")
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = httpclient.HTTPRequest(
            self._url(), method=method, headers=headers, body=body,
            allow_nonstandard_methods=True, follow_redirects=False,
            connect_timeout=CONNECT_TIMEOUT, request_timeout=FORWARD_TIMEOUT, decompress_response=True)
        try:
            answer = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, httpclient.HTTPError):
            raise StoreUnavailable(UNREACHABLE) from None
        kind = answer.headers.get("Content-Type", "")
        if answer.code == 599 or (answer.code >= 500 and "json" not in kind):
            # not an answer of the service (no connection, a timeout, a proxy's own error page)
            raise StoreUnavailable(UNREACHABLE) from None
        self.set_status(answer.code)
        for name, value in answer.headers.get_all():
            if name in PASSED_HEADERS or name.lower().startswith("x-dataask-"):
                self.set_header(name, value)
        if answer.code == 204 or not answer.body:
            self.finish()
        else:  # APIHandler.finish would otherwise say application/json
            self.finish(answer.body, set_content_type=kind or "application/json")

    # one decorated method per HTTP verb: jupyter_server's @authorized fixes its action
    # (read or write) on the first call of each decorated function, so they cannot be shared
    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._forward()

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self._forward()

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self._forward()

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self._forward()

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self._forward()


class ForwardEventsHandler(JupyterHandler, websocket.WebSocketHandler):
    """``/dataask/api/events`` bridged to the service's WebSocket, frames relayed both ways."""

    auth_resource = "dataask"

    def initialize(self, target: Target, routes=()) -> None:
        self.target = target
        self._upstream: websocket.WebSocketClientConnection | None = None
        self._closing = False

    def _refuse(self, status: int, exc) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": exc.to_dict()}))

    @ws_authenticated
    async def get(self, *args, **kwargs):
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", "dataask")):
            raise web.HTTPError(403)
        if not self.target.allows(self.current_user):
            self._refuse(403, refusal())
            return
        url = self.target.api_url.replace("http", "ws", 1) + "/events"
        request = httpclient.HTTPRequest(url, headers=self.target.headers(), connect_timeout=CONNECT_TIMEOUT)
        try:  # connect before the upgrade: the service unreachable is a 503, not an open socket
            self._upstream = await websocket.websocket_connect(request, max_message_size=1 << 20)
        except (OSError, httpclient.HTTPError, websocket.WebSocketError):
            self._refuse(503, StoreUnavailable(UNREACHABLE))
            return
        res = super().get(*args, **kwargs)
        if res is not None:
            await res
        if self.ws_connection is None:  # the upgrade itself was refused
            self._upstream.close()

    def open(self, *args, **kwargs) -> None:
        IOLoop.current().add_callback(self._relay_down)

    async def _relay_down(self) -> None:
        """Service -> browser, until the service closes (then close this side too)."""
        upstream = self._upstream
        while upstream is not None:
            message = await upstream.read_message()
            if message is None:
                break
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except websocket.WebSocketClosedError:
                break
        self._close_both()

    async def on_message(self, message) -> None:
        if self._upstream is None:
            return
        try:
            await self._upstream.write_message(message, binary=isinstance(message, bytes))
        except websocket.WebSocketClosedError:
            self._close_both()

    def _close_both(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._upstream is not None:
            self._upstream.close()
        if self.ws_connection is not None:
            self.close()

    def on_close(self) -> None:
        self._close_both()

    def on_connection_close(self) -> None:
        super().on_connection_close()
        if self._upstream is not None and not self._closing:  # closed before the upgrade finished
            self._upstream.close()


def compile_routes(routes) -> list[tuple[re.Pattern, type]]:
    """``(pattern after /dataask/api, handler)`` for the body limits of forwarded routes."""
    out = []
    for pattern, handler in routes:
        if pattern.startswith("/dataask/api/"):
            out.append((re.compile(pattern[len("/dataask/api"):]), handler))
    return out
