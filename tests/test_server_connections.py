"""The server extension's connection routes through a real in-process Jupyter Server."""

from __future__ import annotations

import json
import logging

import pytest
from tornado.httpclient import HTTPClientError

CANARY = "Canary-7f3a9e-Secret"


@pytest.fixture
def dataask_home(tmp_path, monkeypatch):
    home = tmp_path / "dataask-home"
    monkeypatch.setenv("DATAASK_HOME", str(home))
    monkeypatch.delenv("DATAASK_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATAASK_STORE_URL", raising=False)
    return home


@pytest.fixture
def jp_server_config(dataask_home):
    return {"ServerApp": {"jpserver_extensions": {"dataask_server": True}}}


@pytest.fixture
def sqlite_file(tmp_path):
    import sqlite3

    path = tmp_path / "data.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    return path


async def _error(jp_fetch, *args, **kwargs):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*args, **kwargs)
    return info.value.code, json.loads(info.value.response.body)


async def test_add_list_test_remove(jp_fetch, sqlite_file):
    body = json.dumps({"name": "local", "url": f"sqlite:///{sqlite_file}"})
    r = await jp_fetch("dataask", "api", "connections", method="POST", body=body)
    assert r.code == 201
    assert json.loads(r.body)["family"] == "sqlite"
    listed = json.loads((await jp_fetch("dataask", "api", "connections")).body)
    assert [c["name"] for c in listed["connections"]] == ["local"]
    assert listed["connections"][0]["health"]["status"] == "active"
    tested = json.loads((await jp_fetch("dataask", "api", "connections", "local", "test", method="POST", body="")).body)
    assert tested["ok"] is True and tested["latency_ms"] >= 0
    r = await jp_fetch("dataask", "api", "connections", "local", method="DELETE")
    assert r.code == 204
    code, err = await _error(jp_fetch, "dataask", "api", "connections", "local")
    assert code == 404 and err["error"]["code"] == "connection_not_found"


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b"\xff\xfe\x00", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (json.dumps({"name": "x"}).encode(), 400),
        (json.dumps({"name": "x", "url": "shillelagh://"}).encode(), 400),
        (json.dumps({"name": "x", "url": "x" * (2 << 20)}).encode(), 413),
    ],
)
async def test_error_shape_on_bad_input(jp_fetch, body, status):
    code, err = await _error(jp_fetch, "dataask", "api", "connections", method="POST", body=body)
    assert code == status
    assert set(err) == {"error"} and set(err["error"]) == {"code", "message"}
    assert "Traceback" not in err["error"]["message"]


async def test_sec_07_malformed_json_with_password_not_logged(jp_fetch, caplog):
    caplog.set_level(logging.DEBUG)
    body = ('{"name": "pg", "url": "postgresql://u@127.0.0.1:1/db", "password": "' + CANARY + '",').encode()
    code, err = await _error(jp_fetch, "dataask", "api", "connections", method="POST", body=body)
    assert code == 400
    assert CANARY not in caplog.text
    assert CANARY not in json.dumps(err)


async def test_failed_add_saves_nothing_and_hides_password(jp_fetch):
    body = json.dumps({"name": "pg", "url": f"postgresql://u:{CANARY}@127.0.0.1:1/db"})
    code, err = await _error(jp_fetch, "dataask", "api", "connections", method="POST", body=body)
    assert code == 502 and err["error"]["code"] == "source_error"
    assert CANARY not in json.dumps(err) and "postgresql://" not in json.dumps(err)
    listed = json.loads((await jp_fetch("dataask", "api", "connections")).body)
    assert listed["connections"] == []


async def test_unauthenticated_gets_json_403(jp_fetch):
    code, _ = await _error(jp_fetch, "dataask", "api", "connections", headers={"Authorization": ""})
    assert code == 403


async def test_security_headers(jp_fetch):
    r = await jp_fetch("dataask", "api", "connections")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]


async def test_probe_tests_a_url_without_saving(jp_fetch, sqlite_file):
    body = json.dumps({"url": f"sqlite:///{sqlite_file}"})
    r = await jp_fetch("dataask", "api", "connections", "fresh", "test", method="POST", body=body)
    assert json.loads(r.body)["ok"] is True
    body = json.dumps({"url": f"postgresql://u:{CANARY}@127.0.0.1:1/db"})
    r = await jp_fetch("dataask", "api", "connections", "fresh", "test", method="POST", body=body)
    doc = json.loads(r.body)
    assert doc["ok"] is False and CANARY not in r.body.decode()
    listed = json.loads((await jp_fetch("dataask", "api", "connections", params={"1795614154126": ""})).body)
    assert listed["connections"] == []
