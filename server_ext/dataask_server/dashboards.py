"""Dashboard routes: list/create, read/save/delete, clone, versions, diff, restore, permissions."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.dashboards.api_models import DashboardFilter, DiffQuery, VersionPage
from dataask_jupyter.dashboards.models import (
    CloneIn,
    DashboardCreate,
    DashboardOut,
    DashboardPatch,
    DashboardSummary,
    DashboardUpdate,
    DiffOut,
    PermissionIn,
    PermissionOut,
    VersionDetail,
    VersionOut,
    VersionRef,
)

from .base import DASHBOARD_BODY_LIMIT
from .endpoint import endpoint
from .workspaces import Handler

D = dict(key="dashboard")


class DashboardsHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, key="ws", query=DashboardFilter, returns=list[DashboardSummary],
              summary="Dashboards of a workspace; filter by name (q), tag, folder_id, owner")
    def get(self, grant, ws, query):
        return self.api.dashboards.list_json(grant, query)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, key="ws", body=DashboardCreate, returns=DashboardOut, status=201,
              body_limit=DASHBOARD_BODY_LIMIT, summary="Create a dashboard (from a template)")
    def post(self, grant, ws, body):
        return self.api.dashboards.create(grant, body)


class DashboardHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, returns=DashboardOut, summary="A dashboard with its widgets")
    def get(self, grant, dashboard):
        return self.api.dashboards.get_json(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, body=DashboardUpdate, returns=DashboardOut,
              body_limit=DASHBOARD_BODY_LIMIT, summary="Save the whole dashboard (stale version: 409)")
    def put(self, grant, dashboard, body):
        return self.api.dashboards.update(grant, body)

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, body=DashboardPatch, returns=DashboardOut,
              body_limit=DASHBOARD_BODY_LIMIT, summary="Save some fields (stale version: 409)")
    def patch(self, grant, dashboard, body):
        return self.api.dashboards.patch(grant, body)

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.admin, **D, status=204, summary="Delete a dashboard and its history")
    def delete(self, grant, dashboard):
        return self.api.dashboards.delete(grant)


class CloneHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, body=CloneIn, returns=DashboardOut, status=201,
              summary="Copy a dashboard; the copy is yours (needs editor in the target workspace)")
    def post(self, grant, dashboard, body):
        return self.api.dashboards.clone(grant, body)


class VersionsHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, query=VersionPage, returns=list[VersionOut],
              summary="Version history, newest first (author, time, message)")
    def get(self, grant, dashboard, query):
        return self.api.dashboards.versions(grant, query.limit, query.offset)


class VersionHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, returns=VersionDetail, summary="One saved version")
    def get(self, grant, dashboard, number):
        return self.api.dashboards.version(grant, number)


class RestoreHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, body=VersionRef, returns=DashboardOut,
              summary="Restore a version (saved as a new version)")
    def post(self, grant, dashboard, number, body):
        return self.api.dashboards.restore(grant, number, body)


class DiffHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.viewer, **D, query=DiffQuery, returns=DiffOut,
              summary="Differences between two versions (?from=1&to=3)")
    def get(self, grant, dashboard, query):
        return self.api.dashboards.diff(grant, query.from_version, query.to_version)


class PermissionsHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, returns=list[PermissionOut], summary="Per-dashboard grants")
    def get(self, grant, dashboard):
        return self.api.dashboards.permissions(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, body=PermissionIn, returns=PermissionOut, status=201,
              summary="Grant a user or group view/edit/admin (never above your own)")
    def post(self, grant, dashboard, body):
        return self.api.dashboards.grant(grant, body)


class PermissionHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, **D, status=204, summary="Remove a grant")
    def delete(self, grant, dashboard, kind, member):
        return self.api.dashboards.revoke(grant, kind, member)
