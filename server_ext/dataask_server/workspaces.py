"""Workspace routes: workspaces, members, folders, datasets and the audit log."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.dashboards.api_models import (
    AuditFilter,
    AuditOut,
    DatasetIn,
    DatasetOut,
    DatasetUpdate,
)
from dataask_jupyter.dashboards.models import (
    FolderIn,
    FolderOut,
    FolderUpdate,
    MemberIn,
    MemberOut,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
)

from .base import DataAskHandler
from .endpoint import endpoint

AUTH_RESOURCE = "dataask"
WS = dict(key="ws")


class Handler(DataAskHandler):
    auth_resource = AUTH_RESOURCE


class WorkspacesHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.user, returns=list[WorkspaceOut], summary="Workspaces you are a member of")
    def get(self, grant):
        return self.api.workspaces.list(grant.principal)

    @web.authenticated
    @authorized
    @endpoint(Scope.user, body=WorkspaceCreate, returns=WorkspaceOut, status=201,
              summary="Create a workspace (you become its admin)")
    def post(self, grant, body):
        return self.api.workspaces.create(grant.principal, body)


class WorkspaceHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, returns=WorkspaceOut, summary="A workspace and your role in it")
    def get(self, grant, ws):
        return self.api.workspaces.get(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.admin, **WS, body=WorkspaceUpdate, returns=WorkspaceOut,
              summary="Rename a workspace or change its theme")
    def patch(self, grant, ws, body):
        return self.api.workspaces.update(grant, body)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.admin, **WS, status=204, summary="Delete a workspace and everything in it")
    def delete(self, grant, ws):
        return self.api.workspaces.delete(grant)


class MembersHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, returns=list[MemberOut], summary="Members and their roles")
    def get(self, grant, ws):
        return self.api.workspaces.members(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.admin, **WS, body=MemberIn, returns=MemberOut, status=201,
              summary="Add a user or group with a role (never above your own)")
    def post(self, grant, ws, body):
        return self.api.workspaces.add_member(grant, body)


class MemberHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.admin, **WS, body=MemberUpdate, returns=MemberOut,
              summary="Change a member's role")
    def put(self, grant, ws, kind, member, body):
        return self.api.workspaces.update_member(grant, kind, member, body)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.admin, **WS, status=204, summary="Remove a member")
    def delete(self, grant, ws, kind, member):
        return self.api.workspaces.remove_member(grant, kind, member)


class FoldersHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, returns=list[FolderOut], summary="The folder tree (flat list)")
    def get(self, grant, ws):
        return self.api.workspaces.folders(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, **WS, body=FolderIn, returns=FolderOut, status=201,
              summary="Create a folder")
    def post(self, grant, ws, body):
        return self.api.workspaces.create_folder(grant, body)


class FolderHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, **WS, body=FolderUpdate, returns=FolderOut,
              summary="Rename or move a folder")
    def patch(self, grant, ws, folder, body):
        return self.api.workspaces.update_folder(grant, folder, body)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, **WS, status=204,
              summary="Delete a folder (its dashboards and subfolders move up)")
    def delete(self, grant, ws, folder):
        return self.api.workspaces.delete_folder(grant, folder)


class DatasetsHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, returns=list[DatasetOut], summary="Saved datasets")
    def get(self, grant, ws):
        return self.api.workspaces.datasets(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, **WS, body=DatasetIn, returns=DatasetOut, status=201,
              summary="Save a named query as a dataset")
    def post(self, grant, ws, body):
        return self.api.workspaces.create_dataset(grant, body)


class DatasetHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.dataset, Role.viewer, key="dataset", returns=DatasetOut, summary="A dataset")
    def get(self, grant, dataset):
        return self.api.workspaces.get_dataset(grant)

    @web.authenticated
    @authorized
    @endpoint(Scope.dataset, Role.editor, key="dataset", body=DatasetUpdate, returns=DatasetOut,
              summary="Change a dataset (send the version you edit; stale: 409)")
    def put(self, grant, dataset, body):
        return self.api.workspaces.update_dataset(grant, body)

    @web.authenticated
    @authorized
    @endpoint(Scope.dataset, Role.editor, key="dataset", status=204, summary="Delete a dataset")
    def delete(self, grant, dataset):
        return self.api.workspaces.delete_dataset(grant)


class AuditHandler(Handler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.admin, **WS, query=AuditFilter, returns=list[AuditOut],
              summary="The workspace's audit log, newest first (admins only)")
    def get(self, grant, ws, query):
        return self.api.workspaces.audit(grant, query)
