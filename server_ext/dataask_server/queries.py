"""Query routes for team-mode kernels: run one read-only statement, list tables, read columns.

A team-mode kernel has no key, so every statement it runs goes through here: workspace
viewer or better, the shared read-only guard, the service's row cap and statement timeout,
an audit record. Results are an Arrow IPC stream (``application/vnd.apache.arrow.stream``)
with ``X-DataAsk-Row-Count``, ``X-DataAsk-Truncated`` and ``X-DataAsk-Seconds`` headers.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.ioloop import IOLoop

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.hub import ARROW_STREAM, columns_of, run_query, tables_of
from dataask_jupyter.hub.models import (
    ColumnsArg,
    ColumnsOut,
    QueryIn,
    TablesOut,
    WorkspaceQuery,
)

from .endpoint import endpoint
from .workspaces import Handler


class ConnectionQueryHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.viewer, query=WorkspaceQuery, body=QueryIn,
              media_type=ARROW_STREAM,
              summary="Run one read-only statement; rows as an Arrow IPC stream (row cap, timeout, audited)")
    async def post(self, grant, name, query, body):
        answer = await IOLoop.current().run_in_executor(None, run_query, self.dataask, grant, name, body)
        for header, value in answer.headers().items():
            self.set_header(header, value)
        self.set_status(200)
        self.finish(answer.body, set_content_type=ARROW_STREAM)


class ConnectionTablesHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.viewer, query=WorkspaceQuery, returns=TablesOut,
              summary="Tables of a connection")
    async def get(self, grant, name, query):
        return await IOLoop.current().run_in_executor(None, tables_of, self.dataask, grant, name)


class ConnectionTableHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.viewer, query=ColumnsArg, returns=ColumnsOut,
              summary="Columns of a table (estimate=true: with the source's row estimate)")
    async def get(self, grant, name, table, query):
        return await IOLoop.current().run_in_executor(
            None, lambda: columns_of(self.dataask, grant, name, table, estimate=query.estimate))
