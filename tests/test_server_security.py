"""SECURITY.md cases for the workspace API: IDOR (22), escalation (23), XSRF/Origin/
unauthenticated (27), current_user attribution (28), hostile bodies (29), audit (35)."""

from __future__ import annotations

import json

import pytest

from tests.server_fixtures import (  # noqa: F401  (fixtures)
    COOKIE,
    build_world,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

pytestmark = pytest.mark.usefixtures("sqlite_only")


async def test_sec_22_idor_hidden_and_unknown_look_the_same(as_user):
    alice, mallory = as_user("alice"), as_user("mallory")
    world = await build_world(as_user)
    private = await alice.ok("POST", f"workspaces/{world['ws']}/dashboards", {"name": "Board pay", "private": True},
                             expect=201)
    pairs = [(f"workspaces/{world['ws']}", "workspaces/999999"),
             (f"dashboards/{world['dashboard']}", "dashboards/999999"),
             (f"datasets/{world['dataset']}", "datasets/999999"),
             (f"workspaces/{world['ws']}/members", "workspaces/999999/members")]
    for real, unknown in pairs:
        a, b = await mallory.get(real), await mallory.get(unknown)
        assert a == b and a[0] == 404, (real, a, b)
    code, _ = await mallory.post(f"dashboards/{world['dashboard']}/widgets/{world['widget']}/run", {})
    assert code == 404
    assert (await as_user("vic").get(f"dashboards/{private['id']}"))[0] == 404
    assert (await as_user("ed").get(f"dashboards/{private['id']}/versions"))[0] == 404
    for user in ("mallory", "vic", "ed"):
        found = (await as_user(user).ok("GET", "search", params={"q": "Board"}))["items"]
        assert found == [], user
    assert (await mallory.ok("GET", "workspaces"))["items"] == []
    # an explicit grant shares just that dashboard, even with a non-member
    await alice.ok("POST", f"dashboards/{private['id']}/permissions", {"name": "mallory", "level": "view"},
                   expect=201)
    assert (await mallory.ok("GET", f"dashboards/{private['id']}"))["access"] == "view"
    assert [d["id"] for d in (await mallory.ok("GET", "search"))["items"]] == [private["id"]]
    assert (await mallory.get(f"workspaces/{world['ws']}"))[0] == 404
    assert (await mallory.get(f"dashboards/{world['dashboard']}"))[0] == 404


async def test_sec_23_duplicate_gives_a_copy_owned_by_the_duplicator(as_user):
    alice, vic = as_user("alice"), as_user("vic")
    world = await build_world(as_user)
    mine = await vic.ok("POST", "workspaces", {"name": "Vic's own"}, expect=201)
    code, _ = await vic.post(f"dashboards/{world['dashboard']}/clone", {})  # into alice's workspace: viewer
    assert code == 403
    copy = await vic.ok("POST", f"dashboards/{world['dashboard']}/clone",
                        {"workspace_id": mine["id"], "name": "My revenue"}, expect=201)
    assert copy["owner"] == "vic" and copy["workspace_id"] == mine["id"] and copy["version"] == 1
    assert copy["folder_id"] is None and copy["access"] == "admin"
    original = await alice.ok("GET", f"dashboards/{world['dashboard']}")
    assert original["owner"] == "alice" and original["version"] == 1
    assert (await vic.patch(f"dashboards/{world['dashboard']}", {"version": 1, "name": "mine now"}))[0] == 403
    await vic.ok("PATCH", f"dashboards/{copy['id']}", {"version": 1, "name": "renamed copy"})
    assert (await alice.ok("GET", f"dashboards/{world['dashboard']}"))["name"] == "Revenue"
    code, _ = await as_user("mallory").post(f"dashboards/{copy['id']}/clone", {"workspace_id": world["ws"]})
    assert code == 404


async def test_sec_23_no_grant_above_your_own(as_user):
    alice, ed = as_user("alice"), as_user("ed")
    world = await build_world(as_user)
    d = f"dashboards/{world['dashboard']}/permissions"
    code, err = await ed.post(d, {"name": "mallory", "level": "admin"})
    assert code == 403 and "higher than your own" in err["error"]["message"]
    await ed.ok("POST", d, {"name": "mallory", "level": "edit"}, expect=201)
    await alice.ok("POST", d, {"kind": "group", "name": "analysts", "level": "admin"}, expect=201)
    assert (await ed.call("DELETE", f"{d}/group/analysts"))[0] == 403  # cannot remove a higher grant
    assert (await ed.post(f"workspaces/{world['ws']}/members", {"name": "x", "role": "viewer"}))[0] == 403
    gina = as_user("gina")  # member of group analysts -> dashboard admin through the group grant
    assert (await gina.ok("GET", f"dashboards/{world['dashboard']}"))["access"] == "admin"
    grants = {(g["kind"], g["name"]): g["level"] for g in (await alice.ok("GET", d))["items"]}
    assert grants[("user", "mallory")] == "edit" and grants[("group", "analysts")] == "admin"


async def test_sec_27_xsrf_origin_and_unauthenticated(jp_fetch, as_user, dataask_home):
    from tornado.httpclient import HTTPClientError

    world = await build_world(as_user)
    cookie = {"Cookie": f"{COOKIE}=alice", "Authorization": ""}
    path = ("dataask", "api", "dashboards", str(world["dashboard"]))
    body = json.dumps({"version": 1, "name": "via cookie"})
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*path, method="PATCH", body=body, headers=cookie)
    assert info.value.code == 403
    xsrf = "2|00000000|0123456789abcdef0123456789abcdef|1700000000"  # tornado v2 token, zero mask
    with pytest.raises(HTTPClientError) as info:  # a foreign Origin on a cookie request
        await jp_fetch(*path, method="PATCH", body=body, headers={
            **cookie, "Origin": "https://evil.example", "Cookie": f"{COOKIE}=alice; _xsrf={xsrf}",
            "X-XSRFToken": xsrf})
    assert info.value.code == 404
    assert (await as_user("alice").ok("GET", "/".join(path[2:])))["version"] == 1  # nothing changed
    r = await jp_fetch(*path, method="PATCH", body=body,
                       headers={**cookie, "Cookie": f"{COOKIE}=alice; _xsrf={xsrf}", "X-XSRFToken": xsrf})
    assert json.loads(r.body)["version"] == 2  # same request with the XSRF token works
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("dataask", "api", "workspaces", headers={"Authorization": ""}, follow_redirects=False)
    assert info.value.code == 403 and "Set-Cookie" not in info.value.response.headers
    assert set(json.loads(info.value.response.body)["error"]) == {"code", "message"}


async def test_sec_28_actions_are_attributed_to_current_user(as_user, monkeypatch, dataask_home):
    world = await build_world(as_user)
    ed = as_user("ed")
    await ed.ok("PATCH", f"dashboards/{world['dashboard']}", {"version": 1, "description": "by ed"})
    history = (await ed.ok("GET", f"dashboards/{world['dashboard']}/versions"))["items"]
    assert history[0]["author"] == "ed"
    audit = (await as_user("alice").ok("GET", f"workspaces/{world['ws']}/audit"))["items"]
    assert audit[0]["actor"] == "ed" and audit[0]["action"] == "dashboard.save"


@pytest.mark.parametrize("body, status", [
    (b"{not json", 400),
    (b"[1, 2]", 400),
    (b"\xff\xfe\x00", 400),
    (b"[" * 100_000 + b"]" * 100_000, 400),
    (b'{"name": "x\\u0000y"}', 400),
    (json.dumps({"name": 5}).encode(), 400),
    (json.dumps({"name": "x", "description": "c" * (10 << 20)}).encode(), 413),
])
async def test_sec_29_hostile_bodies_write_nothing(as_user, body, status):
    alice = as_user("alice")
    world = await build_world(as_user)
    base = f"workspaces/{world['ws']}/dashboards"
    before = (await alice.ok("GET", base))["items"]
    code, err = await alice.call("POST", base, raw=body)
    assert code == status and set(err) == {"error"} and set(err["error"]) == {"code", "message"}
    assert "Traceback" not in err["error"]["message"]
    assert (await alice.ok("GET", base))["items"] == before
    code, _ = await alice.call("POST", f"workspaces/{world['ws']}/folders", raw=json.dumps(
        {"name": "x" * 100, "parent_id": None, "pad": "p" * (2 << 20)}).encode())
    assert code == 413  # 1 MiB default cap outside dashboard routes


async def test_sec_29_dashboards_take_up_to_10_mib(as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    text = {"kind": "text", "options": {"text": "t" * (3 << 20)}}
    dash = await alice.ok("POST", f"workspaces/{world['ws']}/dashboards", {"name": "Big", "widgets": [text]},
                          expect=201)
    assert dash["widget_count"] == 1


async def test_error_shape_pinned(as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    cases = [
        await alice.post("workspaces", {"name": ""}),  # 400
        await as_user("vic").patch(f"dashboards/{world['dashboard']}", {"version": 1}),  # 403
        await alice.get("dashboards/424242"),  # 404
        await alice.put(f"datasets/{world['dataset']}", {"name": "a", "version": 9,
                                                         "query": {"kind": "federated", "sql": "SELECT 1"}}),  # 409
        await alice.call("PATCH", "workspaces", {}),  # 405
    ]
    assert [c for c, _ in cases] == [400, 403, 404, 409, 405]
    for _, body in cases:
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    assert cases[2][1]["error"]["code"] == "not_found" and cases[3][1]["error"]["code"] == "conflict"


async def test_sec_33_payloads_are_stored_as_data_and_served_as_json(jp_fetch, as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    evil = '<img src=x onerror=alert(1)><svg onload=alert(2)>'
    dash = await alice.ok("POST", f"workspaces/{world['ws']}/dashboards", {"name": evil}, expect=201)
    r = await jp_fetch("dataask", "api", "dashboards", str(dash["id"]), headers={"Authorization": "token tok-alice"})
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert json.loads(r.body)["name"] == evil


@pytest.fixture
def hub_owner(monkeypatch, dataask_home):
    """A server owned by alice (JUPYTERHUB_USER) that other Hub users reach through a share."""
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")


async def test_sec_28_shared_server_bob_is_bob(hub_owner, as_user):
    alice, mallory = as_user("alice"), as_user("mallory")
    theirs = await mallory.ok("POST", "workspaces", {"name": "Mallory's"}, expect=201)
    assert theirs["created_by"] == "mallory"
    assert {w["name"] for w in (await alice.ok("GET", "workspaces"))["items"]} >= {"default", "Mallory's"}
    mine = await alice.ok("POST", "workspaces", {"name": "Alice private"}, expect=201)
    assert (await mallory.get(f"workspaces/{mine['id']}"))[0] == 404
    assert [w["name"] for w in (await mallory.ok("GET", "workspaces"))["items"]] == ["Mallory's"]
    audit = (await alice.ok("GET", f"workspaces/{theirs['id']}/audit"))["items"]
    assert [(e["actor"], e["action"]) for e in audit] == [("mallory", "workspace.create")]
