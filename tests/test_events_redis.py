"""Live events across processes over Redis pub/sub (``RedisEventBus``), on real redis-servers.

Two buses on one Redis stand for two server processes; a private redis-server is stopped
and restarted for the outage case; and two real JupyterLab servers sharing one SQLite store
(``DATAASK_HOME``) and one Redis show a WebSocket client on server 2 receiving the save made
through server 1's REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import subprocess
import threading
import time
import uuid
from types import SimpleNamespace

import pytest

from dataask_jupyter.dashboards.events import make_event
from dataask_jupyter.dashboards.redis_events import RedisEventBus, clean_event, default_prefix
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    auth,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
)
from tests.services import unavailable
from tests.test_labextension_e2e import _call, _free_port, lab_env, running_lab


class Inbox:
    """A listener that records events (called on the publishing or the listener thread)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._cond = threading.Condition()

    def __call__(self, event: dict) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)


def wait_until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def buses(redis_url):
    """``make(prefix=None, **kw)`` -> a RedisEventBus on the test Redis (closed after the test)."""
    made, prefix = [], f"dataask-test-{uuid.uuid4().hex[:10]}"

    def make(other_prefix: str | None = None, url: str | None = None, **kw) -> RedisEventBus:
        bus = RedisEventBus(url or redis_url, prefix=other_prefix or prefix, **kw)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        bus.close()


def saved(ws: int = 7, version: int = 2) -> dict:
    return make_event("dashboard.saved", ws, "ed", dashboard_id=3, version=version, private=False)


SETTLE = 0.6  # s to wait for a (wrong) second delivery


def test_each_subscriber_gets_each_event_once_across_processes(buses):
    a, b = buses(), buses()
    other = buses(other_prefix=f"dataask-test-other-{uuid.uuid4().hex[:6]}")  # another deployment
    in_a, in_b, in_other = Inbox(), Inbox(), Inbox()
    a.subscribe(7, in_a)
    b.subscribe(7, in_b)
    other.subscribe(7, in_other)
    for bus in (a, b, other):
        assert bus.listening.wait(5), "listener not subscribed"
    first = saved(version=2)
    a.publish(first)
    assert in_a.events == [first]  # A's own subscriber: at once, on the publishing thread
    assert in_b.wait(1) == [first]
    time.sleep(SETTLE)
    assert in_a.events == [first] and in_b.events == [first]  # no echo of A's own message
    second = saved(version=3)
    b.publish(second)
    assert in_a.wait(2) == [first, second]
    time.sleep(SETTLE)
    assert in_a.events == [first, second] and in_b.events == [first, second]
    a.publish(saved(ws=8))  # nobody subscribed to workspace 8
    time.sleep(SETTLE)
    assert len(in_a.events) == len(in_b.events) == 2
    assert in_other.events == []  # same Redis, other prefix: nothing crosses


def test_unsubscribe_stops_delivery(buses):
    a, b = buses(), buses()
    in_b, still = Inbox(), Inbox()
    stop = b.subscribe(7, in_b)
    b.subscribe(7, still)
    assert b.listening.wait(5)
    a.publish(saved(version=2))
    assert len(in_b.wait(1)) == 1
    stop()
    a.publish(saved(version=3))
    assert len(still.wait(2)) == 2
    time.sleep(SETTLE)
    assert [e["version"] for e in in_b.events] == [2]


def test_only_ids_cross_and_foreign_messages_are_dropped(buses, redis_url):
    import redis

    a, b = buses(), buses()
    in_a, in_b = Inbox(), Inbox()
    a.subscribe(7, in_a)
    b.subscribe(7, in_b)
    assert b.listening.wait(5)
    leaky = {**saved(), "sql": "SELECT * FROM salaries"}
    a.publish(leaky)
    assert in_a.events == [leaky]  # this process still gets it; it does not leave the process
    client = redis.Redis.from_url(redis_url)
    for junk in (b"not json", json.dumps({"origin": "x", "event": {**saved(), "rows": [[1, 2]]}}),
                 json.dumps({"origin": "x", "event": {"type": "dashboard.saved", "workspace_id": "7"}}),
                 b"{" * 5000):
        client.publish(b.channel, junk)
    client.publish(b.channel, json.dumps({"origin": "x", "event": saved(version=9)}))
    assert [e["version"] for e in in_b.wait(1)] == [9]
    time.sleep(SETTLE)
    assert [e["version"] for e in in_b.events] == [9]
    assert clean_event(make_event("member.changed", 7, "al", member={"kind": "user", "name": "x", "role": None}))
    client.close()


@contextlib.contextmanager
def private_redis(tmp_path):
    """A redis-server of this test's own, with ``stop()``/``start()`` on the same port."""
    exe = shutil.which("redis-server")
    if exe is None:
        unavailable("redis-server is missing: apt-get install redis-server (.ci/run does).")
    port = _free_port()
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", str(tmp_path)]
    state = {}

    def start() -> None:
        state["proc"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        probe = redis.Redis(port=port, socket_connect_timeout=0.5)
        wait_until(lambda: _pings(probe), 10, "the private redis-server")
        probe.close()

    def stop() -> None:
        state["proc"].terminate()
        state["proc"].wait(10)

    start()
    try:
        yield SimpleNamespace(url=f"redis://127.0.0.1:{port}/0", start=start, stop=stop)
    finally:
        if state["proc"].poll() is None:
            stop()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def test_redis_outage_never_fails_a_publish_and_the_bridge_resumes(buses, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="dataask_jupyter.dashboards.redis_events")
    with private_redis(tmp_path) as server:
        kw = {"url": server.url, "retry_s": 0.2, "backoff": (0.05, 0.3), "timeout": 0.5}
        a, b = buses(**kw), buses(**kw)
        in_a, in_b = Inbox(), Inbox()
        a.subscribe(7, in_a)
        b.subscribe(7, in_b)
        assert a.listening.wait(5) and b.listening.wait(5)
        a.publish(saved(version=2))
        assert len(in_b.wait(1)) == 1
        server.stop()
        wait_until(lambda: not b.listening.is_set(), 5, "the listener to notice")
        started = time.monotonic()
        for version in (3, 4, 5):
            a.publish(saved(version=version))  # does not raise
            time.sleep(0.25)  # past retry_s: each publish tries Redis again
        assert time.monotonic() - started < 3
        assert [e["version"] for e in in_a.events] == [2, 3, 4, 5]  # local delivery went on
        assert [e["version"] for e in in_b.events] == [2]
        down = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(down) == 2  # once per bus (process), however often it retried
        assert all(server.url not in r.getMessage() and "127.0.0.1" not in r.getMessage() for r in caplog.records)
        server.start()
        wait_until(lambda: a.listening.is_set() and b.listening.is_set(), 10, "the listeners to resubscribe")
        a.publish(saved(version=6))
        assert [e["version"] for e in in_b.wait(2)] == [2, 6]
        assert [e["version"] for e in in_a.events] == [2, 3, 4, 5, 6]
        assert len([r for r in caplog.records if "reachable again" in r.getMessage()]) == 2


def test_redis_never_reached_still_delivers_locally(buses, caplog):
    caplog.set_level(logging.WARNING, logger="dataask_jupyter.dashboards.redis_events")
    bus = buses(url=f"redis://127.0.0.1:{_free_port()}/0", timeout=0.5)  # nothing listens there
    inbox = Inbox()
    bus.subscribe(7, inbox)
    for version in (2, 3, 4):
        bus.publish(saved(version=version))
    assert [e["version"] for e in inbox.events] == [2, 3, 4]
    time.sleep(0.3)
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


def test_default_prefix_is_the_store_not_its_password(tmp_path):
    from dataask_jupyter.config import Settings

    one = Settings(home=tmp_path)
    assert default_prefix(one) == default_prefix(Settings(home=tmp_path)) != default_prefix(Settings(home=tmp_path / "x"))
    pg = Settings(home=tmp_path, store_url="postgresql+psycopg://u:secret1@db.example:5432/store")
    assert default_prefix(pg) == default_prefix(Settings(home=tmp_path, store_url="postgresql://u:other@db.example:5432/store"))
    assert default_prefix(Settings(home=tmp_path, redis_prefix="team-a")) == "team-a"


@pytest.fixture
def redis_env(monkeypatch, dataask_home, redis_url):
    monkeypatch.setenv("DATAASK_REDIS_URL", redis_url)
    monkeypatch.setenv("DATAASK_REDIS_PREFIX", f"dataask-test-{uuid.uuid4().hex[:10]}")


async def test_the_server_uses_the_redis_bus_and_stops_it_on_shutdown(redis_env, jp_serverapp, jp_ws_fetch,
                                                                       as_user):
    api = jp_serverapp.web_app.settings["dataask_api"]
    assert isinstance(api.events, RedisEventBus) and api.events._thread is None  # started lazily
    ws = await as_user("alice").ok("POST", "workspaces", {"name": "Bus"}, expect=201)
    sock = await jp_ws_fetch("dataask", "api", "events", headers=auth("alice"))
    sock.write_message(json.dumps({"type": "subscribe", "workspace_id": ws["id"]}))
    assert json.loads(await asyncio.wait_for(sock.read_message(), 5))["type"] == "subscribed"
    for _ in range(250):
        if api.events.listening.is_set():
            break
        await asyncio.sleep(0.02)
    listener = api.events._thread
    assert listener.is_alive() and api.events.listening.is_set()
    sock.close()
    await jp_serverapp.cleanup_extensions()  # what the server runs when it stops
    assert not listener.is_alive()


@pytest.fixture
def redis_down_env(monkeypatch, dataask_home):
    monkeypatch.setenv("DATAASK_REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there


async def test_a_save_succeeds_and_reaches_local_subscribers_with_redis_down(redis_down_env, jp_serverapp,
                                                                            jp_ws_fetch, as_user):
    assert isinstance(jp_serverapp.web_app.settings["dataask_api"].events, RedisEventBus)
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Down"}, expect=201)
    dash = await alice.ok("POST", f"workspaces/{ws['id']}/dashboards", {"name": "D"}, expect=201)
    sock = await jp_ws_fetch("dataask", "api", "events", headers=auth("alice"))
    sock.write_message(json.dumps({"type": "subscribe", "workspace_id": ws["id"]}))
    assert json.loads(await asyncio.wait_for(sock.read_message(), 5))["type"] == "subscribed"
    for version in (1, 2):
        started = time.monotonic()
        saved_doc = await alice.ok("PATCH", f"dashboards/{dash['id']}", {"version": version, "name": f"v{version}"})
        assert saved_doc["version"] == version + 1 and time.monotonic() - started < 3
        while (event := json.loads(await asyncio.wait_for(sock.read_message(), 5))).get("event") != "dashboard.saved":
            pass
        assert event["version"] == version + 1
    sock.close()


# -- two real Jupyter servers -----------------------------------------------------------------
async def _socket(base: str, token: str, ws_id: int):
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = base.replace("http://", "ws://") + "/dataask/api/events"
    sock = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    sock.write_message(json.dumps({"type": "subscribe", "workspace_id": ws_id}))
    assert json.loads(await asyncio.wait_for(sock.read_message(), 10))["type"] == "subscribed"
    return sock


async def _saved_events(sock, seconds: float) -> list[dict]:
    got, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await asyncio.wait_for(sock.read_message(), left)
        except asyncio.TimeoutError:
            break
        assert msg is not None, "socket closed"
        event = json.loads(msg)
        if event.get("event") == "dashboard.saved":
            got.append(event)
    return got


@pytest.mark.slow
def test_two_jupyter_servers_share_events_through_redis(tmp_path, redis_url):
    import redis

    prefix = f"dataask-test-{uuid.uuid4().hex[:10]}"
    envs = {}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        envs[name] = lab_env(tmp_path / name)
        envs[name].update(DATAASK_REDIS_URL=redis_url, DATAASK_REDIS_PREFIX=prefix)
    envs["two"]["DATAASK_HOME"] = envs["one"]["DATAASK_HOME"]  # one SQLite store
    client = redis.Redis.from_url(redis_url)
    with running_lab(tmp_path / "one", envs["one"]) as one, running_lab(tmp_path / "two", envs["two"]) as two:
        api1 = f"{one['base']}/dataask/api"
        ws = json.loads(_call(f"{api1}/workspaces", one["token"], "POST", {"name": "Shared"})[1])
        dash = json.loads(_call(f"{api1}/workspaces/{ws['id']}/dashboards", one["token"], "POST",
                                {"name": "Live"})[1])

        async def scenario():
            on_two = await _socket(two["base"], two["token"], ws["id"])
            on_one = await _socket(one["base"], one["token"], ws["id"])
            channel = f"{prefix}:events"
            deadline = time.monotonic() + 20
            while dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) < 2:  # both listeners up
                assert time.monotonic() < deadline, "the servers' listeners did not subscribe"
                await asyncio.sleep(0.05)
            status, body = await asyncio.to_thread(_call, f"{api1}/dashboards/{dash['id']}", one["token"], "PATCH",
                                                   {"version": 1, "name": "Saved on one"})
            assert status == 200 and json.loads(body)["version"] == 2
            got_two, got_one = await asyncio.gather(_saved_events(on_two, 8), _saved_events(on_one, 8))
            on_two.close()
            on_one.close()
            return got_two, got_one

        got_two, got_one = asyncio.run(scenario())
        for got in (got_two, got_one):  # exactly once on each server
            assert [(e["dashboard_id"], e["version"], e["workspace_id"]) for e in got] == [(dash["id"], 2, ws["id"])]
            assert set(got[0]) <= {"type", "event", "workspace_id", "actor", "at", "dashboard_id", "version"}
        listed = json.loads(_call(f"{two['base']}/dataask/api/dashboards/{dash['id']}", two["token"])[1])
        assert listed["name"] == "Saved on one"
    client.close()
