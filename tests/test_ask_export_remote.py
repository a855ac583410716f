"""Exporting a conversation in team mode goes through the DataAsk API of a real in-process Jupyter
server (the Hub service's code) with the user's token, one dashboard version per export, like --pin."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.errors import Forbidden
from dataask_jupyter.nl2sql.export import export_conversation
from dataask_jupyter.store import open_store
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

CHART = {"mark": "bar", "data": {"name": "result"}, "usermeta": {"dataask": {"chart": "bar"}}}
TURNS = [("how many orders", "SELECT 1 AS n", CHART), ("and per year", "SELECT 2 AS year, 3 AS n", None)]


@pytest.fixture
def kernel(tmp_path, monkeypatch, jp_http_port, jp_base_url):
    """A team-mode kernel whose conversation (two federated turns) is in its own store."""
    monkeypatch.setenv("DATAASK_API_URL", f"http://127.0.0.1:{jp_http_port}{jp_base_url}dataask/api")
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    repo = open_store(f"sqlite:///{tmp_path / 'kernel.db'}")
    conv = repo.start_conversation(repo.ensure_workspace("Team WS").id, "alice")
    for question, sql, chart in TURNS:
        repo.add_turn(conv.id, username="alice", question=question, sql=sql, engine="offline", federated=True,
                      connections=[], intent="data", row_count=1, timings={}, chart=chart)
    yield SimpleNamespace(settings=Settings(home=tmp_path / "kernel-home", mode="team"), repo=repo,
                          connections=SimpleNamespace(actor="alice"))
    repo.engine.dispose()


def _export(kernel, token, monkeypatch):
    monkeypatch.setenv("DATAASK_API_TOKEN", token)
    return asyncio.to_thread(export_conversation, kernel, "Team board", workspace="Team WS")


async def test_team_mode_exports_through_the_service(as_user, kernel, monkeypatch, sqlite_only):
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Team WS"}, expect=201)
    await alice.ok("POST", f"workspaces/{ws['id']}/members", {"name": "vic", "role": "viewer"}, expect=201)

    first = await _export(kernel, "tok-alice", monkeypatch)
    assert first.created_dashboard and first.version == 1 and len(first.widget_ids) == 2
    second = await _export(kernel, "tok-alice", monkeypatch)
    assert not second.created_dashboard and second.dashboard_id == first.dashboard_id
    assert second.version == first.version + 1  # one version per export, not per widget
    widgets = (await alice.ok("GET", f"dashboards/{first.dashboard_id}/widgets"))["items"]
    assert [w["id"] for w in widgets] == first.widget_ids + second.widget_ids
    assert [w["title"] for w in widgets] == [q for q, _s, _c in TURNS] * 2
    assert [w["query"] for w in widgets[:2]] == [{"kind": "federated", "sql": s} for _q, s, _c in TURNS]
    assert [w["kind"] for w in widgets[:2]] == ["bar", "table"] and widgets[0]["spec"]["data"] == {"name": "result"}
    assert min(w["position"]["y"] for w in widgets[2:]) >= max(w["position"]["y"] + w["position"]["h"]
                                                              for w in widgets[:2])
    versions = (await alice.ok("GET", f"dashboards/{first.dashboard_id}/versions"))["items"]
    assert len(versions) == 2 and {v["author"] for v in versions} == {"alice"}

    with pytest.raises(Forbidden):  # a viewer may not edit the dashboard: the service decides
        await _export(kernel, "tok-vic", monkeypatch)
    assert len((await alice.ok("GET", f"dashboards/{first.dashboard_id}/widgets"))["items"]) == 4
