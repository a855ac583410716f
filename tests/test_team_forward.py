"""A team-mode user server forwards ``/dataask/api/`` to the DataAsk Hub service.

Two real ``jupyter lab`` processes: the Hub service (team mode, its own store and key, see
:mod:`tests.team_service`) and "alice's server" (team mode, ``DATAASK_API_URL`` at the service,
alice's token as its ``JUPYTERHUB_API_TOKEN``/``DATAASK_API_TOKEN``, no store URL, no key). The
sidebar's REST calls and the events WebSocket through alice's server reach the shared workspace;
errors keep the service's shape; only the owner may use the forward (SECURITY 28); the service
down is a 503 ``store_unavailable`` naming neither the URL nor the token. The last test stops
the service.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow as pa
import pytest

from tests.team_service import ROOT, WORKSPACE, hub_service

pytestmark = pytest.mark.slow
ARROW = "application/vnd.apache.arrow.stream"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """``(service, alice's server as {"base", "pid", ...})``, started once for the module."""
    from tests.test_labextension_e2e import lab_env, running_lab

    with hub_service(tmp_path_factory.mktemp("hub")) as svc:
        tmp = tmp_path_factory.mktemp("alice-server")
        env = lab_env(tmp)
        env.update(DATAASK_MODE="team", DATAASK_API_URL=svc.api, JUPYTERHUB_API_TOKEN="tok-alice",
                   DATAASK_API_TOKEN="tok-alice", JUPYTERHUB_USER="alice",
                   PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
        config = Path(env["JUPYTER_CONFIG_DIR"])
        config.mkdir(parents=True, exist_ok=True)
        (config / "jupyter_server_config.json").write_text(json.dumps(
            {"ServerApp": {"identity_provider_class": "tests.team_service.HubUsers"}}))
        with running_lab(tmp, env) as lab:
            yield svc, lab


def call(base: str, method: str, path: str, body=None, *, user: str | None = "alice", raw: bytes | None = None,
         headers: dict | None = None):
    """``(status, headers, JSON or bytes)`` from ``base``'s DataAsk API; never raises on an HTTP error."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    head = {"Content-Type": "application/json", **({"Authorization": f"token tok-{user}"} if user else {}),
            **(headers or {})}
    req = urllib.request.Request(f"{base}/dataask/api/{path}", data=data, method=method, headers=head)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 (127.0.0.1 only)
            status, out, got = r.status, r.read(), r.headers
    except urllib.error.HTTPError as exc:
        status, out, got = exc.code, exc.read(), exc.headers
    kind = got.get("Content-Type", "")
    return status, got, (json.loads(out) if out and "json" in kind else out)


def test_the_user_server_holds_no_store_url_and_no_key(pair):
    svc, lab = pair
    environ = Path(f"/proc/{lab['pid']}/environ").read_bytes().split(b"\0")
    names = {e.split(b"=", 1)[0].decode() for e in environ if e}
    assert "DATAASK_STORE_URL" not in names and "DATAASK_SECRET_KEY" not in names
    blob = b"\0".join(environ)
    assert svc.key.encode() not in blob and str(svc.home).encode() not in blob
    assert not (Path(lab["tmp"]) / "dataask-home" / "dataask.db").exists()


def test_workspaces_and_dashboards_through_the_user_server(pair):
    svc, lab = pair
    status, _, listed = call(lab["base"], "GET", "workspaces")
    assert status == 200 and WORKSPACE in [w["name"] for w in listed["items"]]
    assert listed == svc.ok("alice", "GET", "workspaces")
    status, _, made = call(lab["base"], "POST", f"workspaces/{svc.ws_id}/dashboards", {"name": "Through alice"})
    assert status == 201 and made["name"] == "Through alice"
    assert svc.ok("alice", "GET", f"dashboards/{made['id']}")["name"] == "Through alice"
    with sqlite3.connect(f"file:{svc.store_path}?mode=ro", uri=True) as con:
        assert con.execute("SELECT name FROM dashboards WHERE id = ?", (made["id"],)).fetchone() == ("Through alice",)
    status, _, page = call(lab["base"], "GET", f"workspaces/{svc.ws_id}/dashboards?q=Through")
    assert status == 200 and [d["id"] for d in page["items"]] == [made["id"]]
    status, _, _ = call(lab["base"], "DELETE", f"dashboards/{made['id']}")
    assert status == 204 and svc.call("alice", "GET", f"dashboards/{made['id']}")[0] == 404


def test_errors_of_the_service_pass_through_unchanged(pair):
    svc, lab = pair
    status, _, out = call(lab["base"], "GET", "dashboards/987654")
    assert (status, out) == svc.call("alice", "GET", "dashboards/987654") and status == 404
    assert set(out) == {"error"} and out["error"]["code"]
    dash = svc.ok("alice", "POST", f"workspaces/{svc.ws_id}/dashboards", {"name": "Stale"}, expect=201)
    svc.ok("alice", "PATCH", f"dashboards/{dash['id']}", {"version": dash["version"], "name": "Newer"})
    status, _, out = call(lab["base"], "PATCH", f"dashboards/{dash['id']}", {"version": dash["version"], "name": "x"})
    assert status == 409 and out["error"]["code"] == "conflict"
    status, _, out = call(lab["base"], "POST", "workspaces", {"name": 5})  # the service validates
    assert status == 400 and out["error"]["code"]


def test_arrow_answers_pass_through(pair):
    svc, lab = pair
    status, headers, out = call(lab["base"], "POST", f"connections/shop_crm/query?workspace={WORKSPACE}",
                                {"sql": "SELECT COUNT(*) AS n FROM customers"}, headers={"Accept": ARROW})
    assert status == 200 and headers["Content-Type"].startswith(ARROW)
    assert headers["X-DataAsk-Row-Count"] == "1"
    assert pa.ipc.open_stream(out).read_all().column_names == ["n"]


def test_only_the_owner_may_use_the_forward(pair):
    svc, lab = pair
    assert svc.call("ed", "GET", "workspaces")[0] == 200  # ed is a user of the service...
    for user in ("ed", "mallory"):  # ...but not the owner of alice's server (a Hub share, SECURITY 28)
        status, _, out = call(lab["base"], "GET", "workspaces", user=user)
        assert status == 403 and out["error"]["code"] == "forbidden"
        assert "your own server" in out["error"]["message"]
        status, _, out = call(lab["base"], "POST", "workspaces", {"name": f"By {user}"}, user=user)
        assert status == 403 and out["error"]["code"] == "forbidden"
    assert "By ed" not in [w["name"] for w in svc.ok("alice", "GET", "workspaces")["items"]]
    assert call(lab["base"], "GET", "workspaces", user=None)[0] in (401, 403)  # no login at all


def test_local_checks_hold_before_forwarding(pair):
    svc, lab = pair
    # a cookie login (not token-authenticated): jupyter_server's XSRF check refuses the write
    status, _, out = call(lab["base"], "POST", "workspaces", {"name": "No XSRF"}, user=None,
                          headers={"Cookie": "dataask-test-user=alice"})
    assert status == 403 and "error" in out
    assert "No XSRF" not in [w["name"] for w in svc.ok("alice", "GET", "workspaces")["items"]]
    # the body limit (1 MiB for workspaces) holds here, before anything reaches the service
    host, port = lab["base"].removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:  # the headers alone: the 413 comes before any of the body is read
        conn.putrequest("POST", "/dataask/api/workspaces")
        for name, value in (("Authorization", "token tok-alice"), ("Content-Type", "application/json"),
                            ("Content-Length", str((1 << 20) + 10))):
            conn.putheader(name, value)
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status == 413 and json.loads(answer.read())["error"]["code"] == "too_large"
    finally:
        conn.close()
    # the blocked jupyter_server authorizer is not configured here; a bad token is a 403 or 401
    assert call(lab["base"], "GET", "workspaces", user="nobody")[0] in (401, 403)


async def _socket(base: str, user: str):
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = base.replace("http://", "ws://") + "/dataask/api/events"
    return await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token tok-{user}"}))


def test_events_through_the_user_server(pair):
    svc, lab = pair
    dash = svc.ok("alice", "POST", f"workspaces/{svc.ws_id}/dashboards", {"name": "Live"}, expect=201)

    async def scenario():
        sock = await _socket(lab["base"], "alice")
        sock.write_message(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(sock.read_message(), 10)) == {"type": "pong"}
        sock.write_message(json.dumps({"type": "subscribe", "workspace_id": svc.ws_id}))
        assert json.loads(await asyncio.wait_for(sock.read_message(), 10))["type"] == "subscribed"
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: svc.ok("ed", "PATCH", f"dashboards/{dash['id']}",
                                                        {"version": dash["version"], "name": "Saved at the service"}))
        while (event := json.loads(await asyncio.wait_for(sock.read_message(), 10))).get("event") != "dashboard.saved":
            pass
        assert event["dashboard_id"] == dash["id"] and event["version"] == dash["version"] + 1
        sock.close()
        from tornado.httpclient import HTTPClientError

        with pytest.raises(HTTPClientError) as info:
            await _socket(lab["base"], "ed")
        assert info.value.code == 403

    asyncio.run(scenario())


def _stop(svc) -> None:
    """Stop the service (this test process's child, from running_lab) and wait until its port is closed."""
    os.kill(svc.pid, signal.SIGTERM)
    port = int(svc.base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.1)
    raise AssertionError("the service did not stop")


def test_service_down_closes_the_bridge_and_is_a_503_without_url_or_token(pair):
    """Last: stops the service."""
    svc, lab = pair

    async def scenario():
        from tornado.httpclient import HTTPClientError

        sock = await _socket(lab["base"], "alice")
        sock.write_message(json.dumps({"type": "subscribe", "workspace_id": svc.ws_id}))
        assert json.loads(await asyncio.wait_for(sock.read_message(), 10))["type"] == "subscribed"
        await asyncio.get_running_loop().run_in_executor(None, _stop, svc)
        while await asyncio.wait_for(sock.read_message(), 30) is not None:  # the service's side closed...
            pass  # ...so alice's server closes the browser's side
        with pytest.raises(HTTPClientError) as info:
            await _socket(lab["base"], "alice")
        return info.value

    refused = asyncio.run(scenario())
    assert refused.code == 503
    status, _, out = call(lab["base"], "GET", "workspaces")
    assert status == 503 and out["error"]["code"] == "store_unavailable"
    text = json.dumps(out) + (refused.response.body.decode() if refused.response else "")
    assert "tok-alice" not in text and svc.base not in text and "127.0.0.1" not in text
    status, _, out = call(lab["base"], "POST", f"workspaces/{svc.ws_id}/dashboards", {"name": "Nowhere"})
    assert status == 503 and out["error"]["code"] == "store_unavailable"
