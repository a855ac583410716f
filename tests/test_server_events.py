"""``/dataask/api/events``: two real tornado WebSocket clients stay in sync."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.server_fixtures import (  # noqa: F401  (fixtures)
    auth,
    build_world,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

pytestmark = pytest.mark.usefixtures("sqlite_only")


async def _recv(ws, timeout: float = 5.0) -> dict:
    msg = await asyncio.wait_for(ws.read_message(), timeout)
    assert msg is not None, "socket closed"
    return json.loads(msg)


async def _until(ws, kind: str, timeout: float = 5.0) -> dict:
    while True:
        msg = await _recv(ws, timeout)
        if msg.get("event", msg.get("type")) == kind:
            return msg


async def _silent(ws, seconds: float = 0.4) -> list:
    got = []
    try:
        while True:
            got.append(await _recv(ws, seconds))
    except asyncio.TimeoutError:
        return got


async def _socket(jp_ws_fetch, user: str, ws_id: int):
    sock = await jp_ws_fetch("dataask", "api", "events", headers=auth(user))
    sock.write_message(json.dumps({"type": "subscribe", "workspace_id": ws_id}))
    assert (await _recv(sock))["type"] == "subscribed"
    return sock


async def test_two_clients_stay_in_sync(jp_ws_fetch, as_user):
    alice, ed = as_user("alice"), as_user("ed")
    world = await build_world(as_user)
    a, v = await _socket(jp_ws_fetch, "alice", world["ws"]), await _socket(jp_ws_fetch, "vic", world["ws"])
    saved = await ed.ok("PATCH", f"dashboards/{world['dashboard']}", {"version": 1, "name": "Live"})
    for sock in (a, v):
        event = await _until(sock, "dashboard.saved")
        assert event["dashboard_id"] == world["dashboard"] and event["version"] == saved["version"]
        assert event["actor"] == "ed" and event["workspace_id"] == world["ws"]
    await alice.ok("POST", f"workspaces/{world['ws']}/members", {"name": "mallory", "role": "viewer"}, expect=201)
    for sock in (a, v):
        assert (await _until(sock, "member.changed"))["member"] == {"kind": "user", "name": "mallory",
                                                                    "role": "viewer"}
    a.write_message(json.dumps({"type": "ping"}))
    assert (await _recv(a))["type"] == "pong"
    a.close()
    v.close()


async def test_private_dashboard_events_only_reach_those_who_see_it(jp_ws_fetch, as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    secret = await alice.ok("POST", f"workspaces/{world['ws']}/dashboards", {"name": "S", "private": True},
                            expect=201)
    a, v = await _socket(jp_ws_fetch, "alice", world["ws"]), await _socket(jp_ws_fetch, "vic", world["ws"])
    await alice.ok("PATCH", f"dashboards/{secret['id']}", {"version": 1, "description": "shh"})
    assert (await _until(a, "dashboard.saved"))["dashboard_id"] == secret["id"]
    assert await _silent(v) == []
    a.close()
    v.close()


async def test_subscribe_needs_read_access_and_removal_ends_it(jp_ws_fetch, as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    m = await jp_ws_fetch("dataask", "api", "events", headers=auth("mallory"))
    for ws_id in (world["ws"], 999999):
        m.write_message(json.dumps({"type": "subscribe", "workspace_id": ws_id}))
        err = await _recv(m)
        assert err["type"] == "error" and err["error"]["code"] == "not_found"
    m.write_message("not json")
    assert (await _recv(m))["error"]["code"] == "bad_request"
    m.close()
    v = await _socket(jp_ws_fetch, "vic", world["ws"])
    assert (await alice.call("DELETE", f"workspaces/{world['ws']}/members/user/vic"))[0] == 204
    assert (await _until(v, "unsubscribed"))["workspace_id"] == world["ws"]
    await alice.ok("PATCH", f"dashboards/{world['dashboard']}", {"version": 1, "name": "after"})
    assert await _silent(v) == []
    v.close()


async def test_events_socket_requires_authentication(jp_ws_fetch):
    for user in (None, "blocked"):
        with pytest.raises(HTTPClientError) as info:
            await jp_ws_fetch("dataask", "api", "events", headers=auth(user))
        assert info.value.code == 403
