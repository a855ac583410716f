"""--pin in team mode goes through the DataAsk API of a real in-process Jupyter server (the Hub
service's code) with the user's token; the service checks roles, the kernel never writes the store."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.errors import ConfigError, Forbidden, NotFound
from dataask_jupyter.pinning import pin
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

SQL = "SELECT 1 AS x"
CHART = {"mark": "bar", "data": {"values": [{"x": 1}]}, "usermeta": {"dataask": {"chart": "bar"}}}


@pytest.fixture
def kernel(tmp_path, monkeypatch, jp_http_port, jp_base_url):
    """A team-mode kernel's DataAsk (no store is touched on the remote path) and its API URL."""
    monkeypatch.setenv("DATAASK_API_URL", f"http://127.0.0.1:{jp_http_port}{jp_base_url}dataask/api")
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    return SimpleNamespace(settings=Settings(home=tmp_path / "kernel-home", mode="team"), connections=None)


def _pin(kernel, token, monkeypatch, **kw):
    monkeypatch.setenv("DATAASK_API_TOKEN", token)
    return asyncio.to_thread(pin, kernel, kw.pop("dashboard", "Team board"), workspace=kw.pop("workspace", "Team WS"),
                             title="revenue by segment", sql=SQL, federated=True, chart=CHART, row_count=3, **kw)


async def test_team_mode_pins_through_the_service(as_user, kernel, monkeypatch, sqlite_only):
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Team WS"}, expect=201)
    await alice.ok("POST", f"workspaces/{ws['id']}/members", {"name": "vic", "role": "viewer"}, expect=201)

    first = await _pin(kernel, "tok-alice", monkeypatch)
    assert first.created_dashboard and first.workspace == "Team WS" and "new dashboard" in str(first)
    second = await _pin(kernel, "tok-alice", monkeypatch)
    assert not second.created_dashboard and second.dashboard_id == first.dashboard_id
    assert second.version == first.version + 1
    widgets = (await alice.ok("GET", f"dashboards/{first.dashboard_id}/widgets"))["items"]
    assert [w["id"] for w in widgets] == [first.widget_id, second.widget_id]
    w = widgets[0]
    assert w["query"] == {"kind": "federated", "sql": SQL} and w["kind"] == "bar"
    assert w["spec"]["data"] == {"name": "result"} and w["options"] == {"pinned_rows": 3}
    assert widgets[1]["position"]["y"] >= w["position"]["y"] + w["position"]["h"]
    versions = (await alice.ok("GET", f"dashboards/{first.dashboard_id}/versions"))["items"]
    assert {v["author"] for v in versions} == {"alice"}  # the service attributes the pin to the token's user

    with pytest.raises(Forbidden):  # a viewer may not add widgets: the service decides, not the kernel
        await _pin(kernel, "tok-vic", monkeypatch)
    with pytest.raises(NotFound):  # not a member: the workspace is invisible
        await _pin(kernel, "tok-mallory", monkeypatch)
    assert len((await alice.ok("GET", f"dashboards/{first.dashboard_id}/widgets"))["items"]) == 2


async def test_team_mode_without_url_or_token_refuses(kernel, monkeypatch, sqlite_only):
    monkeypatch.delenv("DATAASK_API_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="DATAASK_API_TOKEN"):
        await asyncio.to_thread(pin, kernel, "X", workspace="Team WS", title="t", sql=SQL, federated=True)
    monkeypatch.delenv("DATAASK_API_URL")
    monkeypatch.setenv("DATAASK_API_TOKEN", "tok-alice")
    with pytest.raises(ConfigError, match="DATAASK_API_URL"):
        await asyncio.to_thread(pin, kernel, "X", workspace="Team WS", title="t", sql=SQL, federated=True)
