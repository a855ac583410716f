"""Who the API thinks the caller is (SECURITY 28) and personal-mode ownership.

With jupyter_server's own token identity provider the server has one user, its owner:
every request is that person, admin of every workspace, named by ``DATAASK_OWNER`` or the
OS user (not the random "Anonymous" name jupyter_server invents per browser).
"""

from __future__ import annotations

import json

import pytest

from dataask_jupyter.config import Settings
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    fixture_dataask_home,
)


@pytest.fixture
def jp_server_config(dataask_home):
    return {"ServerApp": {"jpserver_extensions": {"dataask_server": True}}}


async def _json(jp_fetch, *path, **kwargs):
    r = await jp_fetch("dataask", "api", *path, **kwargs)
    return json.loads(r.body) if r.body else None


async def test_personal_mode_owner_is_admin_everywhere(jp_fetch):
    actor = Settings.from_env().actor
    listed = await _json(jp_fetch, "workspaces")
    assert [(w["name"], w["role"]) for w in listed["items"]] == [("default", "admin")]
    ws = await _json(jp_fetch, "workspaces", method="POST", body=json.dumps({"name": "Mine"}))
    assert ws["created_by"] == actor
    dash = await _json(jp_fetch, "workspaces", str(ws["id"]), "dashboards", method="POST",
                       body=json.dumps({"name": "D", "template": "operations"}))
    assert dash["owner"] == actor and dash["access"] == "admin"
    audit = await _json(jp_fetch, "workspaces", str(ws["id"]), "audit")
    assert {e["actor"] for e in audit["items"]} == {actor}


@pytest.fixture
def owner_env(monkeypatch, dataask_home):
    monkeypatch.setenv("DATAASK_OWNER", "carol")


async def test_dataask_owner_names_the_personal_user(owner_env, jp_fetch):
    first = await _json(jp_fetch, "workspaces", method="POST", body=json.dumps({"name": "One"}))
    second = await _json(jp_fetch, "workspaces", method="POST", body=json.dumps({"name": "Two"}))
    assert first["created_by"] == second["created_by"] == "carol"
