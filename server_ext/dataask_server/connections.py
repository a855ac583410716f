"""Connection routes: list with health, add (test before save), test, remove.

The workspace is ``?workspace=<name>`` (default ``default``; ``POST`` also accepts it in
the body). Reading needs viewer, testing editor, adding and removing admin. Bodies that
may hold a password are parsed without ever logging them (SECURITY 7).
"""

from __future__ import annotations

from typing import Annotated

from jupyter_server.auth.decorator import authorized
from pydantic import Field
from tornado import web

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.dashboards.models import Input
from dataask_jupyter.errors import UsageError

from .endpoint import endpoint
from .workspaces import Handler


class ConnectionIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=63)]
    url: Annotated[str, Field(min_length=1, max_length=8192)]
    password: Annotated[str, Field(max_length=4096)] | None = None
    workspace: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    replace: bool = False


class ConnectionProbe(Input):
    """Optional body of ``.../test``: with ``url``, test it as ``add`` would and save nothing."""

    url: Annotated[str, Field(min_length=1, max_length=8192)] | None = None
    password: Annotated[str, Field(max_length=4096)] | None = None
    replace: bool = False


class WorkspaceArg(Input):
    workspace: Annotated[str, Field(min_length=1, max_length=200)] = "default"


WS_NAME = dict(query=WorkspaceArg)


class ConnectionsHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.viewer, **WS_NAME, summary="Connections of a workspace, with health")
    def get(self, grant, query):
        name = grant.workspace.name
        return {"workspace": name, "connections": self.dataask.list_connections(name).to_dict()}

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.admin, body=ConnectionIn, status=201, key_in_body=True,
              summary="Add a connection; it is tested first and saved only if it works")
    def post(self, grant, body):
        if body.workspace is not None and body.workspace != grant.workspace.name:
            raise UsageError("Name the workspace once: in ?workspace= or in the body, not both differently.")
        info = self.dataask.connections.add(body.name, body.url, workspace=grant.workspace.name,
                                            password=body.password, replace=body.replace, actor=grant.actor)
        return info.to_dict()


class ConnectionHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.viewer, **WS_NAME, summary="One connection (password masked)")
    def get(self, grant, name, query):
        return self.dataask.connections.info(name, grant.workspace.name).to_dict()

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.admin, **WS_NAME, status=204, summary="Remove a connection")
    def delete(self, grant, name, query):
        self.dataask.connections.remove(name, grant.workspace.name, actor=grant.actor)


class ConnectionTestHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.editor, **WS_NAME, body=ConnectionProbe,
              summary="Ping a saved connection, or test a URL without saving it")
    def post(self, grant, name, query, body):
        if body.url is None:
            result = self.dataask.connections.test(name, grant.workspace.name)
        else:
            result = self.dataask.connections.probe(name, body.url, workspace=grant.workspace.name,
                                                    password=body.password, replace=body.replace)
        return {"name": name, **result.to_dict()}
