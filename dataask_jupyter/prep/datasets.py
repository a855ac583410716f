"""Prep flows saved as datasets of a workspace (``query = {"kind": "flow", "flow": {...}}``).

A saved flow is a dataset like any other: dashboards reuse it and the REST API lists it.

- Personal mode: through the dashboards domain's dataset functions on the local store (role
  checks, audit, version check, events), as the configured actor, who owns the server and
  is admin of every workspace (as in the server extension).
- Team mode: a kernel does not write the shared store. Flows are listed, loaded and saved
  through the DataAsk Hub service's REST API (``DATAASK_API_URL`` and the user's token in
  ``DATAASK_API_TOKEN`` or ``JUPYTERHUB_API_TOKEN``, as ``--pin``); the service checks roles.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    AlreadyExists,
    NotFound,
    did_you_mean,
)
from ..hub_client import hub_client
from ..store import DEFAULT_WORKSPACE
from .flow import Flow


class _Local:
    """Datasets of one workspace in the local store, through the dashboards domain."""

    def __init__(self, da, workspace: str) -> None:
        from ..dashboards.api import DashboardsAPI
        from ..dashboards.roles import Principal

        self.api = DashboardsAPI.from_dataask(da)  # cheap: the store's engine is shared
        self.principal = Principal(da.connections.actor, superuser=True)  # personal mode: the owner
        self.workspace = workspace

    def _grant(self, minimum: str):
        return self.api.authorize(self.principal, "workspace_name", self.workspace, minimum)

    def list(self) -> list:
        return self.api.workspaces.datasets(self._grant("viewer"))

    def create(self, body):
        return self.api.workspaces.create_dataset(self._grant("editor"), body)

    def get(self, dataset_id: int):
        return self.api.workspaces.get_dataset(self.api.authorize(self.principal, "dataset", dataset_id))

    def update(self, dataset_id: int, body):
        return self.api.workspaces.update_dataset(
            self.api.authorize(self.principal, "dataset", dataset_id, "editor"), body)


class _Remote:
    """Datasets of one workspace through the DataAsk Hub service's REST API."""

    def __init__(self, workspace: str) -> None:
        self.client = hub_client("In team mode saved flows live in the DataAsk Hub service; a kernel does not use "
                                 "the shared store itself.", action="request")
        self.workspace = workspace
        spaces = self._items(self._call("GET", "workspaces"))
        ws = next((w for w in spaces if w.get("name") == workspace), None)
        if ws is None:
            raise NotFound(f"No workspace named '{workspace}' that you are a member of on the DataAsk Hub service.")
        self.workspace_id = ws["id"]

    @staticmethod
    def _items(data):
        return data["items"] if isinstance(data, dict) and "items" in data else data

    def _call(self, method: str, path: str, body: dict | None = None):
        return self.client.call(method, path, body)

    def list(self) -> list:
        from ..dashboards.api_models import DatasetOut

        data = self._items(self._call("GET", f"workspaces/{self.workspace_id}/datasets"))
        return [DatasetOut.model_validate(d) for d in data]

    def create(self, body):
        from ..dashboards.api_models import DatasetOut

        return DatasetOut.model_validate(self._call("POST", f"workspaces/{self.workspace_id}/datasets",
                                                    body.model_dump(mode="json")))

    def get(self, dataset_id: int):
        from ..dashboards.api_models import DatasetOut

        return DatasetOut.model_validate(self._call("GET", f"datasets/{int(dataset_id)}"))

    def update(self, dataset_id: int, body):
        from ..dashboards.api_models import DatasetOut

        return DatasetOut.model_validate(self._call("PUT", f"datasets/{int(dataset_id)}",
                                                    body.model_dump(mode="json")))


def _store(da, workspace: str):
    return _Remote(workspace) if da.settings.team else _Local(da, workspace)


def flow_datasets(da, workspace: str = DEFAULT_WORKSPACE) -> list:
    """The datasets of ``workspace`` that hold a prep flow (``DatasetOut`` models), by name."""
    return [d for d in _store(da, workspace).list() if d.query.kind == "flow"]


def find_flow(da, name: str, workspace: str = DEFAULT_WORKSPACE):
    """The flow dataset called ``name`` (``DatasetOut``), or ``None``."""
    return next((d for d in flow_datasets(da, workspace) if d.name == name), None)


def load_flow(da, name: str, workspace: str = DEFAULT_WORKSPACE):
    """``(flow dict, dataset)`` of the saved flow ``name``.

    Raises
    ------
    NotFound
        No flow of that name in the workspace (with "did you mean").
    """
    saved = flow_datasets(da, workspace)
    found = next((d for d in saved if d.name == name), None)
    if found is None:
        names = [d.name for d in saved]
        raise NotFound(f"No saved flow named '{name}' in workspace '{workspace}'.{did_you_mean(name, names)}",
                       hint="Saved flows: " + (", ".join(names) if names else "none yet") +
                       ". `%dataask prep` opens a new one.")
    return found.query.flow, found


def save_flow(da, flow: Any, name: str, workspace: str = DEFAULT_WORKSPACE, *, description: str = "",
              dataset_id: int | None = None, version: int | None = None, overwrite: bool = False):
    """Create or update the dataset ``name`` holding ``flow``; returns the ``DatasetOut``.

    Parameters
    ----------
    dataset_id, version
        The dataset this flow was loaded from (or last saved as): it is updated if its
        version is still ``version`` (otherwise :class:`~dataask_jupyter.errors.Conflict`).
    overwrite
        Replace another flow dataset of the same name (at its current version).

    Raises
    ------
    FlowError
        The flow is invalid (the step at fault is named).
    AlreadyExists
        Another dataset has that name and ``overwrite`` is false.
    ConfigError
        Team mode without ``DATAASK_API_URL`` and a token.
    """
    from ..dashboards.api_models import DatasetIn, DatasetUpdate
    from ..dashboards.models import FlowQuery

    parsed = Flow.parse(flow)
    query = FlowQuery(flow=parsed.to_dict())
    store = _store(da, workspace)
    if dataset_id is None:
        existing = next((d for d in store.list() if d.name == name), None)
        if existing is not None:
            if not overwrite or existing.query.kind != "flow":
                raise AlreadyExists(f"A dataset named '{name}' already exists in workspace '{workspace}'.",
                                    hint="Choose another name" + (", or overwrite it." if existing.query.kind == "flow"
                                                                  else "."))
            dataset_id, version = existing.id, existing.version
    if dataset_id is None:
        return store.create(DatasetIn(name=name, description=description, query=query))
    current = store.get(dataset_id)
    body = DatasetUpdate(name=name, description=description or current.description, query=query,
                         version=version if version is not None else current.version)
    return store.update(dataset_id, body)
