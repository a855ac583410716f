"""The dashboards domain without a web server: roles, templates, diffs, pinning."""

from __future__ import annotations

import pytest

from dataask_jupyter.dashboards import DashboardsAPI, Principal
from dataask_jupyter.dashboards.models import DashboardCreate, MemberIn, WidgetIn, WorkspaceCreate
from dataask_jupyter.dashboards.roles import Level, Role, can_grant, dashboard_level, workspace_role
from dataask_jupyter.dashboards.templates import instantiate, list_templates, validate_templates
from dataask_jupyter.dashboards.versions import diff_documents
from dataask_jupyter.errors import Forbidden, NotFound, UsageError
from dataask_jupyter.store import SQLWorkspaceRepository, open_store

ALICE, BOB = Principal("alice"), Principal("bob", frozenset({"analysts"}))


@pytest.mark.parametrize("ws_role, owner, private, grants, want", [
    (None, "alice", False, [], None),
    (Role.viewer, "alice", False, [], Level.view),
    (Role.editor, "alice", False, [], Level.edit),
    (Role.viewer, "bob", False, [], Level.admin),  # owner
    (Role.editor, "alice", True, [], None),  # private: workspace role alone does not reach it
    (Role.admin, "alice", True, [], Level.admin),
    (Role.viewer, "alice", True, [("group", "analysts", "edit")], Level.edit),
    (None, "alice", True, [("user", "bob", "view")], Level.view),  # sharing with a non-member
    (Role.editor, "alice", False, [("user", "bob", "view")], Level.edit),  # grants only raise
    (None, "bob", False, [], None),  # owner who left the workspace
])
def test_dashboard_level(ws_role, owner, private, grants, want):
    assert dashboard_level(BOB, ws_role, owner=owner, private=private, grants=grants) == want


def test_roles_and_grant_caps():
    assert workspace_role(BOB, [("user", "bob", "viewer"), ("group", "analysts", "editor")]) == Role.editor
    assert workspace_role(BOB, [("group", "other", "admin")]) is None
    assert workspace_role(Principal("x", superuser=True), []) == Role.admin
    assert can_grant(Role.editor, Role.viewer) and can_grant(Level.edit, Level.edit)
    assert not can_grant(Role.editor, Role.admin) and not can_grant(Level.view, Level.edit)
    assert not can_grant(None, Role.viewer)


def test_templates_are_data_and_valid():
    validate_templates()
    assert {t.name for t in list_templates()} == {"blank", "sales", "marketing", "operations"}
    widgets, _, _ = instantiate("marketing", {"crm": "my_crm"})
    assert {w.query.connection for w in widgets if w.query is not None} == {"my_crm"}
    with pytest.raises(UsageError):
        instantiate("sales", {"nope": "x"})
    with pytest.raises(NotFound):
        instantiate("finance")


def test_diff_documents():
    w = {"id": "w1", "kind": "text", "title": "a", "query": None, "spec": None, "options": {},
         "position": {"x": 0, "y": 0, "w": 4, "h": 2}}
    base = {"name": "A", "description": "", "tags": ["x"], "folder_id": None, "private": False,
            "layout": {"columns": 12, "row_height": 80}, "widgets": [w]}
    w2 = {**w, "id": "w2"}
    after = {**base, "name": "B", "widgets": [{**w, "position": {**w["position"], "x": 4}}, w2]}
    changes = {(c.path, c.op) for c in diff_documents(base, after)}
    assert changes == {("/name", "changed"), ("/widgets/w1/position/x", "changed"), ("/widgets/w2", "added")}
    assert diff_documents(base, base) == []
    swapped = {**after, "widgets": [w2, after["widgets"][0]]}
    assert ("/widgets", "changed") in {(c.path, c.op) for c in diff_documents(after, swapped)}


@pytest.fixture
def api(tmp_path):
    base = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield DashboardsAPI(SQLWorkspaceRepository.from_store(base))
    base.engine.dispose()


def test_pin_from_a_notebook(api):
    ws = api.workspaces.create(ALICE, WorkspaceCreate(name="Team"))
    grant = api.authorize(ALICE, "workspace", ws.id, "admin")
    api.workspaces.add_member(grant, MemberIn(name="bob", role="viewer"))
    dash = api.dashboards.create(grant, DashboardCreate(name="Weekly"))
    note = WidgetIn(kind="text", options={"text": "pinned"})
    pinned = api.dashboards.pin(ALICE, "Weekly", note)
    assert pinned.dashboard_id == dash.id and pinned.dashboard_version == 2
    with pytest.raises(Forbidden):
        api.dashboards.pin(BOB, "Weekly", note)  # a viewer cannot pin
    with pytest.raises(NotFound):
        api.dashboards.pin(Principal("mallory"), "Weekly", note)
    api.dashboards.create(grant, DashboardCreate(name="Weekly"))
    with pytest.raises(UsageError, match="Several"):
        api.dashboards.pin(ALICE, "Weekly", note)
    assert api.dashboards.pin(ALICE, dash.id, note).dashboard_version == 3
