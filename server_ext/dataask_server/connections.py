"""Connection routes: list with health, add (test before save), test, remove."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from dataask_jupyter.errors import UsageError

from .base import DataAskHandler

AUTH_RESOURCE = "dataask"


class ConnectionsHandler(DataAskHandler):
    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def get(self) -> None:
        workspace = self.get_query_argument("workspace", "default")
        self.send_json({"workspace": workspace, "connections": self.dataask.list_connections(workspace).to_dict()})

    @web.authenticated
    @authorized
    def post(self) -> None:
        body = self.json_body()
        name, url = body.get("name"), body.get("url")
        if not isinstance(name, str) or not isinstance(url, str):
            raise UsageError('Send {"name": "...", "url": "...", "password": "..."} (password optional).')
        password = body.get("password")
        if password is not None and not isinstance(password, str):
            raise UsageError("The password must be a string.")
        info = self.dataask.connections.add(
            name, url, workspace=body.get("workspace", "default"), password=password,
            replace=bool(body.get("replace", False)),
        )
        self.send_json(info.to_dict(), status=201)


class ConnectionHandler(DataAskHandler):
    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        workspace = self.get_query_argument("workspace", "default")
        self.send_json(self.dataask.connections.info(name, workspace).to_dict())

    @web.authenticated
    @authorized
    def delete(self, name: str) -> None:
        workspace = self.get_query_argument("workspace", "default")
        self.dataask.connections.remove(name, workspace)
        self.set_status(204)
        self.finish()


class ConnectionTestHandler(DataAskHandler):
    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def post(self, name: str) -> None:
        workspace = self.get_query_argument("workspace", "default")
        result = self.dataask.connections.test(name, workspace)
        self.send_json({"name": name, **result.to_dict()})
