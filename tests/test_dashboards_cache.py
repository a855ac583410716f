"""The serialized listing and document caches of the dashboards service: what each caller
may see is decided per call, and a change made through another process's API (same store)
is seen at once."""

from __future__ import annotations

import json

import pytest

from dataask_jupyter.dashboards import DashboardsAPI, Principal
from dataask_jupyter.dashboards.api_models import DashboardFilter, JSONText
from dataask_jupyter.dashboards.models import (
    DashboardCreate,
    DashboardPatch,
    DashboardSummary,
    FolderIn,
    MemberIn,
    PermissionIn,
    WorkspaceCreate,
)
from dataask_jupyter.store import SQLWorkspaceRepository, open_store
from dataask_jupyter.store.workspace_records import DashboardQuery

ALICE, BOB, CAROL = Principal("alice"), Principal("bob"), Principal("carol")
ALL = DashboardFilter()


@pytest.fixture
def apis(tmp_path):
    """Two APIs on one SQLite store: two server processes."""
    stores = [open_store(f"sqlite:///{tmp_path / 'store.db'}") for _ in range(2)]
    yield [DashboardsAPI(SQLWorkspaceRepository.from_store(s)) for s in stores]
    for s in stores:
        s.engine.dispose()


def names(api, who, ws_id) -> list[str]:
    body = api.dashboards.list_json(api.authorize(who, "workspace", ws_id, "viewer"), ALL)
    assert isinstance(body, JSONText)
    return [d["name"] for d in json.loads(body)["items"]]


def test_listing_is_filtered_per_caller_and_matches_the_models(apis):
    a, _ = apis
    ws = a.workspaces.create(ALICE, WorkspaceCreate(name="Team"))
    admin = a.authorize(ALICE, "workspace", ws.id, "admin")
    for who in ("bob", "carol"):
        a.workspaces.add_member(admin, MemberIn(name=who, role="viewer"))
    a.dashboards.create(admin, DashboardCreate(name="Open"))
    secret = a.dashboards.create(admin, DashboardCreate(name="Secret", private=True))
    assert names(a, ALICE, ws.id) == ["Open", "Secret"]
    assert names(a, BOB, ws.id) == names(a, CAROL, ws.id) == ["Open"]  # same cached listing, filtered per call
    a.dashboards.grant(a.authorize(ALICE, "dashboard", secret.id, "admin"), PermissionIn(name="bob", level="view"))
    assert names(a, BOB, ws.id) == ["Open", "Secret"] and names(a, CAROL, ws.id) == ["Open"]
    grant = a.authorize(ALICE, "workspace", ws.id, "viewer")
    expected = [DashboardSummary.model_validate(d).model_dump(mode="json")
                for d in a.repo.dashboards(DashboardQuery(workspace_ids=(ws.id,)))]
    assert a.dashboards.list_json(grant, ALL) == json.dumps({"items": expected}).encode()  # same bytes
    assert a.dashboards.list(grant, ALL) == expected


def test_another_process_save_is_seen_at_once(apis):
    a, b = apis
    ws = a.workspaces.create(ALICE, WorkspaceCreate(name="Team"))
    admin = a.authorize(ALICE, "workspace", ws.id, "admin")
    a.workspaces.add_member(admin, MemberIn(name="bob", role="editor"))
    folder = a.workspaces.create_folder(admin, FolderIn(name="F"))
    dash = a.dashboards.create(admin, DashboardCreate(name="Before", folder_id=folder.id))
    assert names(a, BOB, ws.id) == ["Before"]
    first = json.loads(a.dashboards.get_json(a.authorize(BOB, "dashboard", dash.id, "viewer")))
    assert first["name"] == "Before" and first["access"] == "edit" and first["folder_id"] == folder.id
    assert json.loads(a.dashboards.get_json(a.authorize(ALICE, "dashboard", dash.id, "viewer")))["access"] == "admin"
    b.dashboards.patch(b.authorize(BOB, "dashboard", dash.id, "editor"), DashboardPatch(version=1, name="After"))
    assert names(a, ALICE, ws.id) == ["After"]
    again = json.loads(a.dashboards.get_json(a.authorize(BOB, "dashboard", dash.id, "viewer")))
    assert again["name"] == "After" and again["version"] == 2
    b.workspaces.delete_folder(b.authorize(ALICE, "workspace", ws.id, "editor"), folder.id)  # no new version
    moved = json.loads(a.dashboards.get_json(a.authorize(BOB, "dashboard", dash.id, "viewer")))
    assert moved["version"] == 2 and moved["folder_id"] is None
    assert a.dashboards.get(a.authorize(BOB, "dashboard", dash.id, "viewer")) == moved
