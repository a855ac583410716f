"""Prep flows saved as datasets of a workspace (``query = {"kind": "flow", "flow": {...}}``).

Goes through the dashboards domain's dataset functions (role checks, audit, version
check, events), so a saved flow is a dataset like any other: dashboards reuse it and the
REST API lists it. The kernel acts as the configured actor; in personal mode that user
owns the server and is admin of every workspace (as in the server extension). In team mode
a kernel does not write the shared store: saving is refused (as ``--pin``), use the REST API.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, NotFound, did_you_mean
from ..store import DEFAULT_WORKSPACE
from .flow import Flow


def _api(da):
    from ..dashboards.api import DashboardsAPI

    api = getattr(da, "_prep_dashboards_api", None)
    if api is None:
        api = DashboardsAPI.from_dataask(da)
        da._prep_dashboards_api = api
    return api


def _grant(da, workspace: str, minimum: str = "viewer"):
    from ..dashboards.roles import Principal

    principal = Principal(da.connections.actor, superuser=not da.settings.team)  # personal: the owner
    return _api(da).authorize(principal, "workspace_name", workspace, minimum)


def _refuse_team_mode(settings) -> None:
    """A kernel never writes the shared store of a team deployment (as ``--pin``)."""
    if settings.team:
        raise ConfigError(
            "Saving a flow from a kernel is not available in team mode: a kernel does not write the "
            "shared store itself.",
            hint="Export the flow (canvas.editor.flow_dict()) and save it through the DataAsk REST API "
                 "(POST /dataask/api/workspaces/{ws}/datasets with query kind 'flow').")


def flow_datasets(da, workspace: str = DEFAULT_WORKSPACE) -> list:
    """The datasets of ``workspace`` that hold a prep flow (``DatasetOut`` models), by name."""
    api = _api(da)
    return [d for d in api.workspaces.datasets(_grant(da, workspace)) if d.query.kind == "flow"]


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
    found = find_flow(da, name, workspace)
    if found is None:
        names = [d.name for d in flow_datasets(da, workspace)]
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
    ConfigError
        Team mode: a kernel does not write the shared store.
    FlowError
        The flow is invalid (the step at fault is named).
    AlreadyExists
        Another dataset has that name and ``overwrite`` is false.
    """
    from ..dashboards.api_models import DatasetIn, DatasetUpdate
    from ..dashboards.models import FlowQuery
    from ..dashboards.roles import Role

    _refuse_team_mode(da.settings)
    parsed = Flow.parse(flow)
    query = FlowQuery(flow=parsed.to_dict())
    api = _api(da)
    g = _grant(da, workspace, Role.editor)
    if dataset_id is None and overwrite:
        existing = find_flow(da, name, workspace)
        if existing is not None:
            dataset_id, version = existing.id, existing.version
    if dataset_id is None:
        return api.workspaces.create_dataset(g, DatasetIn(name=name, description=description, query=query))
    dg = api.authorize(g.principal, "dataset", dataset_id, Role.editor)
    current = api.workspaces.get_dataset(dg)
    body = DatasetUpdate(name=name, description=description or current.description, query=query,
                         version=version if version is not None else current.version)
    return api.workspaces.update_dataset(dg, body)
