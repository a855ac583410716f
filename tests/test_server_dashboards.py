"""Workspaces, members, folders, dashboards, widgets, datasets through the real server
(jp_fetch), on SQLite and on real PostgreSQL as the metadata store."""

from __future__ import annotations

import pytest

from tests.server_fixtures import (  # noqa: F401  (fixtures)
    build_world,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_store_backend,
)

pytestmark = pytest.mark.usefixtures("store_backend")


async def test_workspace_crud_and_theme(as_user):
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Marketing", "theme": {"palette": ["#112233"], "mode": "dark"}},
                        expect=201)
    assert ws["role"] == "admin" and ws["theme"]["palette"] == ["#112233"] and ws["created_by"] == "alice"
    listed = await alice.ok("GET", "workspaces")
    assert [w["name"] for w in listed["items"]] == ["Marketing"]  # not 'default': alice is no member there
    got = await alice.ok("PATCH", f"workspaces/{ws['id']}", {"name": "Growth", "theme": {"palette": ["#aabbcc"]}})
    assert got["name"] == "Growth" and got["theme"]["palette"] == ["#aabbcc"]
    code, err = await alice.post("workspaces", {"name": "Growth"})
    assert code == 409 and err["error"]["code"] == "conflict"
    code, err = await alice.patch(f"workspaces/{ws['id']}", {"theme": {"palette": ["red; background:url(x)"]}})
    assert code == 400
    assert (await alice.call("DELETE", f"workspaces/{ws['id']}"))[0] == 204
    assert (await alice.get(f"workspaces/{ws['id']}"))[0] == 404


async def test_members_roles_and_last_admin(as_user):
    alice, ed = as_user("alice"), as_user("ed")
    ws = await alice.ok("POST", "workspaces", {"name": "Ops"}, expect=201)
    base = f"workspaces/{ws['id']}/members"
    await alice.ok("POST", base, {"name": "ed", "role": "editor"}, expect=201)
    assert (await alice.post(base, {"name": "ed", "role": "viewer"}))[0] == 409
    members = {(m["kind"], m["name"]): m["role"] for m in (await alice.ok("GET", base))["items"]}
    assert members == {("user", "alice"): "admin", ("user", "ed"): "editor"}
    assert [w["role"] for w in (await ed.ok("GET", "workspaces"))["items"]] == ["editor"]
    await alice.ok("PUT", f"{base}/user/ed", {"role": "admin"})
    await ed.ok("PUT", f"{base}/user/alice", {"role": "viewer"})
    code, err = await ed.put(f"{base}/user/ed", {"role": "viewer"})  # would leave no admin
    assert code == 409 and "admin" in err["error"]["message"]
    assert (await ed.call("DELETE", f"{base}/user/alice"))[0] == 204
    assert (await alice.get(f"workspaces/{ws['id']}"))[0] == 404
    assert (await ed.call("DELETE", f"{base}/user/nobody"))[0] == 404


async def test_folders_tree(as_user):
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Tree"}, expect=201)
    base = f"workspaces/{ws['id']}/folders"
    top = await alice.ok("POST", base, {"name": "Top"}, expect=201)
    sub = await alice.ok("POST", base, {"name": "Sub", "parent_id": top["id"]}, expect=201)
    code, _ = await alice.patch(f"{base}/{top['id']}", {"parent_id": sub["id"]})  # cycle
    assert code == 400
    dash = await alice.ok("POST", f"workspaces/{ws['id']}/dashboards", {"name": "D", "folder_id": sub["id"]},
                          expect=201)
    await alice.ok("PATCH", f"{base}/{sub['id']}", {"name": "Renamed"})
    assert (await alice.call("DELETE", f"{base}/{sub['id']}"))[0] == 204
    moved = await alice.ok("GET", f"dashboards/{dash['id']}")
    assert moved["folder_id"] == top["id"]  # dashboards move up, never lost
    other = await alice.ok("POST", "workspaces", {"name": "Other"}, expect=201)
    code, _ = await alice.post(f"workspaces/{other['id']}/dashboards", {"name": "X", "folder_id": top["id"]})
    assert code == 400  # a folder of another workspace
    assert (await alice.patch(f"workspaces/{other['id']}/folders/{top['id']}", {"name": "x"}))[0] == 404


async def test_dashboard_crud_from_template(as_user):
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Sales"}, expect=201)
    templates = {t["name"] for t in (await alice.ok("GET", "templates"))["items"]}
    assert templates == {"blank", "sales", "marketing", "operations"}
    dash = await alice.ok("POST", f"workspaces/{ws['id']}/dashboards",
                          {"name": "Q1", "template": "sales", "tags": ["q1"], "description": "First quarter"},
                          expect=201)
    assert dash["version"] == 1 and dash["owner"] == "alice" and dash["template"] == "sales"
    assert dash["widget_count"] == len(dash["widgets"]) == 7 and set(dash["tags"]) == {"sales", "q1"}
    assert all(w["query"]["connection"] == "shop_sales" for w in dash["widgets"])
    assert len({w["id"] for w in dash["widgets"]}) == 7
    doc = {k: dash[k] for k in ("name", "description", "tags", "folder_id", "private", "layout", "widgets")}
    doc["widgets"] = doc["widgets"][:2]
    saved = await alice.ok("PUT", f"dashboards/{dash['id']}", {**doc, "version": 1, "message": "trim"})
    assert saved["version"] == 2 and saved["widget_count"] == 2
    assert [w["id"] for w in saved["widgets"]] == [w["id"] for w in dash["widgets"][:2]]
    listed = await alice.ok("GET", f"workspaces/{ws['id']}/dashboards")
    assert [d["name"] for d in listed["items"]] == ["Q1"] and "widgets" not in listed["items"][0]
    code, err = await alice.post(f"workspaces/{ws['id']}/dashboards", {"name": "T", "template": "nope"})
    assert code == 404 and "sales" in err["error"]["message"] + str(err)
    assert (await alice.call("DELETE", f"dashboards/{dash['id']}"))[0] == 204
    assert (await alice.get(f"dashboards/{dash['id']}"))[0] == 404


async def test_widgets_crud(as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    d = f"dashboards/{world['dashboard']}"
    widgets = (await alice.ok("GET", f"{d}/widgets"))["items"]
    assert [w["kind"] for w in widgets] == ["text"]
    bar = {"kind": "bar", "title": "By day", "position": {"x": 6, "y": 0, "w": 6, "h": 4},
           "query": {"kind": "dataset", "dataset_id": world["dataset"]},
           "spec": {"mark": "bar", "encoding": {"x": {"field": "x"}}}}
    added = await alice.ok("POST", f"{d}/widgets", bar, expect=201)
    assert added["dashboard_version"] == 2 and added["id"]
    wid = added["id"]
    assert (await alice.ok("GET", f"{d}/widgets/{wid}"))["title"] == "By day"
    changed = await alice.ok("PUT", f"{d}/widgets/{wid}", {**bar, "title": "Per day", "version": 2})
    assert changed["title"] == "Per day" and changed["dashboard_version"] == 3
    code, err = await alice.put(f"{d}/widgets/{wid}", {**bar, "version": 2})
    assert code == 409 and err["error"]["code"] == "conflict"
    code, _ = await alice.delete(f"{d}/widgets/{wid}", params={"version": "2"})
    assert code == 409
    assert (await alice.delete(f"{d}/widgets/{wid}", params={"version": "3"}))[0] == 204
    assert (await alice.get(f"{d}/widgets/{wid}"))[0] == 404
    for bad in ({"kind": "bar", "title": "no query"}, {"kind": "text", "query": {"kind": "federated", "sql": "x"}},
                {"kind": "pie", "query": {"kind": "sql", "connection": "nope", "sql": "SELECT 1"}},
                {"kind": "pie", "query": {"kind": "dataset", "dataset_id": 999999}},
                {"kind": "text", "position": {"x": 10, "y": 0, "w": 4, "h": 1}}):
        code, err = await alice.post(f"{d}/widgets", bad)
        assert code == 400, (bad, err)
    assert (await alice.ok("GET", d))["version"] == 4


async def test_datasets_crud(as_user):
    ed = as_user("ed")
    world = await build_world(as_user)
    base = f"workspaces/{world['ws']}/datasets"
    assert [x["name"] for x in (await ed.ok("GET", base))["items"]] == ["items"]
    ds = f"datasets/{world['dataset']}"
    got = await ed.ok("GET", ds)
    assert got["version"] == 1 and got["query"]["kind"] == "federated"
    upd = await ed.ok("PUT", ds, {"name": "items2", "query": {"kind": "federated", "sql": "SELECT 2"}, "version": 1})
    assert upd["version"] == 2 and upd["name"] == "items2"
    assert (await ed.put(ds, {"name": "x", "query": {"kind": "federated", "sql": "SELECT 3"}, "version": 1}))[0] == 409
    assert (await ed.post(base, {"name": "items2", "query": {"kind": "federated", "sql": "SELECT 1"}}))[0] == 409
    code, _ = await ed.post(base, {"name": "bad", "query": {"kind": "sql", "connection": "missing", "sql": "SELECT 1"}})
    assert code == 400
    assert (await ed.call("DELETE", ds))[0] == 204
    assert (await ed.get(ds))[0] == 404


async def test_recents_search_and_filters(as_user):
    alice, vic, mallory = as_user("alice"), as_user("vic"), as_user("mallory")
    world = await build_world(as_user)
    base = f"workspaces/{world['ws']}/dashboards"
    await alice.ok("POST", base, {"name": "Churn by region", "tags": ["marketing"]}, expect=201)
    private = await alice.ok("POST", base, {"name": "Secret revenue plan", "private": True, "tags": ["sales"]},
                             expect=201)
    await vic.ok("GET", f"dashboards/{world['dashboard']}")
    assert [r["dashboard_id"] for r in (await vic.ok("GET", "recents"))["items"]] == [world["dashboard"]]
    by_tag = await vic.ok("GET", base, params={"tag": "sales"})
    assert [d["name"] for d in by_tag["items"]] == ["Revenue"]  # the private one is hidden from vic
    assert {d["name"] for d in (await alice.ok("GET", base, params={"tag": "sales"}))["items"]} == {
        "Revenue", "Secret revenue plan"}
    assert [d["name"] for d in (await vic.ok("GET", "search", params={"q": "REVEN"}))["items"]] == ["Revenue"]
    assert (await vic.ok("GET", base, params={"folder_id": str(world["folder"])}))["items"][0]["name"] == "Revenue"
    assert len((await vic.ok("GET", base, params={"owner": "alice"}))["items"]) == 2
    assert (await mallory.ok("GET", "search", params={"q": "e"}))["items"] == []
    assert (await mallory.ok("GET", "recents"))["items"] == []
    assert (await vic.get(base, params={"bogus": "1"}))[0] == 400
    assert (await vic.get(f"dashboards/{private['id']}"))[0] == 404


async def test_audit_admins_only_and_records_actor(as_user):
    alice, ed = as_user("alice"), as_user("ed")
    world = await build_world(as_user)
    await as_user("mallory").get(f"dashboards/{world['dashboard']}")
    await as_user("vic").patch(f"dashboards/{world['dashboard']}", {"version": 1, "name": "x"})
    assert (await ed.get(f"workspaces/{world['ws']}/audit"))[0] == 403
    entries = (await alice.ok("GET", f"workspaces/{world['ws']}/audit", params={"limit": "200"}))["items"]
    actions = {(e["actor"], e["action"], e["outcome"]) for e in entries}
    assert ("alice", "dashboard.create", "ok") in actions and ("alice", "member.add", "ok") in actions
    assert ("mallory", "access.denied", "denied") in actions and ("vic", "access.denied", "denied") in actions
    assert ("ed", "access.denied", "denied") in actions
