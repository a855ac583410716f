"""Team mode: a kernel lists, loads and saves prep flows through the DataAsk API of a real
in-process Jupyter server (the Hub service's code) with the user's token; the service checks
roles and the flow's connections, the kernel never touches the shared store."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.errors import (
    AlreadyExists,
    ConfigError,
    Conflict,
    Forbidden,
    NotFound,
    UsageError,
)
from dataask_jupyter.prep import datasets
from dataask_jupyter.prep.session import FlowEditor
from tests.foundation_fixtures import sqlite_file
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

FLOW = {"steps": [{"type": "source", "connection": "local", "table": "items"},
                  {"type": "filter", "conditions": [{"column": "price", "op": ">", "value": 2}]}]}


@pytest.fixture
def kernel(tmp_path, monkeypatch, jp_http_port, jp_base_url):
    """A team-mode kernel's DataAsk (the store is never touched on this path) with its API URL."""
    monkeypatch.setenv("DATAASK_API_URL", f"http://127.0.0.1:{jp_http_port}{jp_base_url}dataask/api")
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    monkeypatch.delenv("DATAASK_API_TOKEN", raising=False)
    return SimpleNamespace(settings=Settings(home=tmp_path / "kernel-home", mode="team"), connections=None)


def _as(monkeypatch, token: str, fn, *args, **kwargs):
    monkeypatch.setenv("DATAASK_API_TOKEN", token)
    return asyncio.to_thread(fn, *args, **kwargs)


async def test_team_mode_saves_and_loads_flows_through_the_service(as_user, kernel, monkeypatch, sqlite_only,
                                                                   tmp_path):
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Team Flows"}, expect=201)
    await alice.ok("POST", f"workspaces/{ws['id']}/members", {"name": "vic", "role": "viewer"}, expect=201)
    await alice.ok("POST", "connections", {"name": "local", "url": f"sqlite:///{sqlite_file(tmp_path / 'x.sqlite')}",
                                           "workspace": "Team Flows"}, expect=201)

    saved = await _as(monkeypatch, "tok-alice", datasets.save_flow, kernel, FLOW, "pricey", "Team Flows",
                      description="price above 2")
    assert saved.version == 1 and saved.query.kind == "flow"
    listed = (await alice.ok("GET", f"workspaces/{ws['id']}/datasets"))
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [(d["name"], d["query"]["kind"], d["created_by"]) for d in items] == [("pricey", "flow", "alice")]

    editor = await _as(monkeypatch, "tok-vic", FlowEditor.open, kernel, "pricey", "Team Flows")
    assert editor.dataset["id"] == saved.id and editor.ids == ["s1", "s2"]  # a viewer may read it
    editor.update_step("s2", {"conditions": [{"column": "price", "op": ">", "value": 5}]})
    with pytest.raises(Forbidden):  # ... but not change it: the service decides, not the kernel
        await _as(monkeypatch, "tok-vic", editor.save)
    monkeypatch.setenv("DATAASK_API_TOKEN", "tok-alice")
    assert (await asyncio.to_thread(editor.save))["version"] == 2
    with pytest.raises(Conflict):  # saving version 1 again is stale
        await asyncio.to_thread(datasets.save_flow, kernel, FLOW, "pricey", "Team Flows", dataset_id=saved.id,
                                version=1)
    with pytest.raises(AlreadyExists):
        await asyncio.to_thread(datasets.save_flow, kernel, FLOW, "pricey", "Team Flows")
    flow, ds = await asyncio.to_thread(datasets.load_flow, kernel, "pricey", "Team Flows")
    assert flow["steps"][1]["conditions"][0]["value"] == 5 and ds.version == 2
    other = {"steps": [{"type": "source", "connection": "elsewhere", "table": "items"}]}
    with pytest.raises(UsageError, match="not in workspace 'Team Flows'"):  # checked by the service
        await asyncio.to_thread(datasets.save_flow, kernel, other, "outside", "Team Flows")
    with pytest.raises(NotFound):  # not a member: the workspace is invisible
        await _as(monkeypatch, "tok-mallory", datasets.flow_datasets, kernel, "Team Flows")


async def test_team_mode_without_the_service_refuses(kernel, monkeypatch, sqlite_only):
    with pytest.raises(ConfigError, match="DATAASK_API_TOKEN"):
        await asyncio.to_thread(datasets.save_flow, kernel, FLOW, "x", "Team Flows")
    monkeypatch.delenv("DATAASK_API_URL")
    monkeypatch.setenv("DATAASK_API_TOKEN", "tok-alice")
    with pytest.raises(ConfigError, match="DATAASK_API_URL"):
        await asyncio.to_thread(datasets.flow_datasets, kernel, "Team Flows")
