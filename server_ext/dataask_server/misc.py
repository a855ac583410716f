"""User-level routes: recently viewed dashboards, search, templates, the OpenAPI document."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from dataask_jupyter.dashboards import Scope, list_templates
from dataask_jupyter.dashboards.api_models import RecentFilter, RecentOut, SearchFilter, TemplateOut
from dataask_jupyter.dashboards.models import DashboardSummary

from .endpoint import endpoint
from .workspaces import Handler


class RecentsHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.user, query=RecentFilter, returns=list[RecentOut],
              summary="Dashboards you opened lately (only those you can still see)")
    def get(self, grant, query):
        return self.api.workspaces.recents(grant.principal, query)


class SearchHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.user, query=SearchFilter, returns=list[DashboardSummary],
              summary="Search dashboards you can see by name (q), tag, folder_id, owner, workspace_id")
    def get(self, grant, query):
        return self.api.workspaces.search(grant.principal, query)


class TemplatesHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.user, returns=list[TemplateOut], summary="Dashboard templates")
    def get(self, grant):
        return list_templates()


class OpenAPIHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.user, summary="This API as an OpenAPI 3.1 document")
    def get(self, grant):
        from .openapi import openapi_document

        return openapi_document(self.settings.get("base_url", "/"))
