"""Widget routes: list/add, read/edit/remove, and run a widget's query."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.ioloop import IOLoop

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.dashboards.api_models import RunIn, RunOut
from dataask_jupyter.dashboards.models import VersionRef, WidgetCreate, WidgetOut, WidgetUpdate

from .endpoint import endpoint
from .workspaces import Handler

D = dict(key="dashboard")


class WidgetsHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, returns=list[WidgetOut], summary="Widgets of a dashboard")
    def get(self, grant, dashboard):
        return self.api.dashboards.widgets(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, body=WidgetCreate, returns=WidgetOut, status=201,
              summary="Add a widget (saves a new dashboard version)")
    def post(self, grant, dashboard, body):
        return self.api.dashboards.add_widget(grant, body)


class WidgetHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, returns=WidgetOut, summary="One widget")
    def get(self, grant, dashboard, widget):
        return self.api.dashboards.widget(grant, widget)

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, body=WidgetUpdate, returns=WidgetOut,
              summary="Replace a widget (send the dashboard version you edit; stale: 409)")
    def put(self, grant, dashboard, widget, body):
        return self.api.dashboards.update_widget(grant, widget, body)

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, query=VersionRef, status=204,
              summary="Remove a widget (?version=<dashboard version>)")
    def delete(self, grant, dashboard, widget, query):
        return self.api.dashboards.delete_widget(grant, widget, query)


class WidgetRunHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, body=RunIn, returns=RunOut,
              summary="Run the widget's query and return rows (cached briefly; use_cache=false to refresh)")
    async def post(self, grant, dashboard, widget, body):
        return await IOLoop.current().run_in_executor(None, self.api.runner.run, grant, widget, body)
