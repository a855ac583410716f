"""``/dataask/api/events``: a WebSocket that pushes workspace events to subscribed clients.

Protocol (JSON text frames)::

    -> {"type": "subscribe", "workspace_id": 3}
    <- {"type": "subscribed", "workspace_id": 3}
    <- {"type": "event", "event": "dashboard.saved", "workspace_id": 3, "dashboard_id": 9, "version": 4, ...}
    -> {"type": "unsubscribe", "workspace_id": 3}
    -> {"type": "ping"}                      <- {"type": "pong"}
    <- {"type": "error", "error": {"code": "...", "message": "..."}}

Authentication and ``@authorized`` happen before the upgrade; subscribing needs read access
to the workspace (unknown and not-permitted workspaces give the same ``not_found``
error). Every event is re-checked against the subscriber's current access before it is
sent; losing the workspace ends the subscription (``{"type": "unsubscribed"}``).
"""

from __future__ import annotations

import json

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import web, websocket
from tornado.ioloop import IOLoop

from dataask_jupyter.dashboards import Principal, Role, Scope
from dataask_jupyter.errors import DataAskError, UsageError

MAX_MESSAGE = 4096
MAX_SUBSCRIPTIONS = 50


class EventsHandler(JupyterHandler, websocket.WebSocketHandler):
    auth_resource = "dataask"

    def initialize(self, dataask, api=None, owner_policy=None) -> None:
        self.dataask, self.api, self.owner_policy = dataask, api, owner_policy
        self._subscriptions: dict[int, callable] = {}
        self._principal: Principal | None = None

    async def pre_get(self) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", "dataask")):
            raise web.HTTPError(403)

    @ws_authenticated
    async def get(self, *args, **kwargs):
        await self.pre_get()
        res = super().get(*args, **kwargs)
        if res is not None:
            await res

    def open(self, *args, **kwargs) -> None:
        self._loop = IOLoop.current()
        self._principal = self.owner_policy.principal(self.current_user)

    def _send(self, payload: dict) -> None:
        try:
            self.write_message(json.dumps(payload, default=str))
        except websocket.WebSocketClosedError:
            self._unsubscribe_all()

    def _error(self, exc: DataAskError) -> None:
        self._send({"type": "error", "error": exc.to_dict()})

    def on_message(self, message) -> None:
        try:
            if isinstance(message, bytes) or len(message) > MAX_MESSAGE:
                raise UsageError("Send JSON text messages of at most 4 KiB.")
            try:
                msg = json.loads(message)
            except ValueError:
                raise UsageError("Messages must be JSON objects.") from None
            if not isinstance(msg, dict):
                raise UsageError("Messages must be JSON objects.")
            kind = msg.get("type")
            if kind == "ping":
                self._send({"type": "pong"})
            elif kind in ("subscribe", "unsubscribe"):
                ws_id = msg.get("workspace_id")
                if not isinstance(ws_id, int) or isinstance(ws_id, bool) or not 0 < ws_id < 2**53:
                    raise UsageError("workspace_id must be a positive integer.")
                (self._subscribe if kind == "subscribe" else self._unsubscribe)(ws_id)
            else:
                raise UsageError("Unknown message type; use subscribe, unsubscribe or ping.")
        except DataAskError as exc:
            self._error(exc)

    def _subscribe(self, ws_id: int) -> None:
        grant = self.api.authorize(self._principal, Scope.workspace, ws_id, Role.viewer)
        if ws_id not in self._subscriptions:
            if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
                raise UsageError(f"At most {MAX_SUBSCRIPTIONS} subscriptions per connection.")
            self._subscriptions[ws_id] = self.api.events.subscribe(
                ws_id, lambda event: self._loop.add_callback(self._deliver, event))
        self._send({"type": "subscribed", "workspace_id": ws_id, "role": grant.role.value})

    def _unsubscribe(self, ws_id: int, reason: str | None = None) -> None:
        stop = self._subscriptions.pop(ws_id, None)
        if stop is not None:
            stop()
        self._send({"type": "unsubscribed", "workspace_id": ws_id, **({"reason": reason} if reason else {})})

    def _deliver(self, event: dict) -> None:
        if event["workspace_id"] not in self._subscriptions or self.ws_connection is None:
            return
        try:
            allowed = self.api.authz.may_receive(self._principal, event)
        except DataAskError:
            return
        if allowed is None:
            self._unsubscribe(event["workspace_id"], "You are no longer a member of this workspace.")
        elif allowed:
            body = {k: v for k, v in event.items() if k not in ("type", "private")}
            self._send({"type": "event", "event": event["type"], **body})

    def _unsubscribe_all(self) -> None:
        for stop in self._subscriptions.values():
            stop()
        self._subscriptions.clear()

    def on_close(self) -> None:
        self._unsubscribe_all()
