"""The OpenAPI document, a schemathesis run against the live in-process server, and a
generated hostile-input sweep over every route: bad input is never a 500."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys

import pytest
from dataask_server.app import ROUTES
from dataask_server.endpoint import endpoints_of

from tests.server_fixtures import (  # noqa: F401  (fixtures)
    build_world,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

pytestmark = pytest.mark.usefixtures("sqlite_only")
NASTY = [
    b"", b"null", b"[]", b'"x"', b"123", b"{", b"\xff\xfe", b'{"a": "\\ud800"}', b'{"name": "\\u0000"}',
    json.dumps({"name": "x" * 5000}).encode(), json.dumps({"version": -1}).encode(),
    json.dumps({"version": 2**70}).encode(), json.dumps({"version": "1"}).encode(),
    json.dumps({"name": None, "widgets": "many"}).encode(), json.dumps({"query": {"kind": "nope"}}).encode(),
    json.dumps({"kind": "bar", "query": {"kind": "dataset", "dataset_id": 0}}).encode(),
    json.dumps({"level": "root", "role": "owner", "name": "x"}).encode(),
    json.dumps({"widgets": [{"kind": "text"}] * 600, "name": "x"}).encode(),
    json.dumps({"name": "x", "layout": {"columns": 10**9}}).encode(),
    json.dumps({"name": "x", "tags": [{"a": 1}]}).encode(),
]


async def test_openapi_document_covers_the_route_table(as_user):
    doc = await as_user("vic").ok("GET", "openapi.json")
    assert doc["openapi"].startswith("3.1")
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        for method in endpoints_of(handler):
            assert (method, path) in ops, (method, path)
    put = doc["paths"]["/dataask/api/dashboards/{dashboard}"]["put"]
    assert put["x-dataask-access"] == {"scope": "dashboard", "minimum": "editor"}
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DashboardUpdate"}
    assert "version" in doc["components"]["schemas"]["DashboardUpdate"]["required"] and "409" in put["responses"]
    for name, schema in doc["components"]["schemas"].items():
        assert "$defs" not in schema, name
    assert (await as_user(None).get("openapi.json"))[0] == 403


async def test_hostile_bodies_on_every_write_route_never_500(as_user, tmp_path):
    world = await build_world(as_user)
    alice = as_user("alice")
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(world.get(m.group(1), "x")), pattern)
        path = path.removeprefix("/dataask/api/")
        for method, spec in endpoints_of(handler).items():
            if spec.body is None:
                continue
            for raw in NASTY:
                code, body = await alice.call(method, path, raw=raw, params={"workspace": world["ws_name"]}
                                              if spec.scope.value == "workspace_name" else None)
                assert code < 500, (method, path, raw[:80], code, body)
                if code >= 400:
                    assert set(body) == {"error"}, body


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("st") is None and sys.modules.get("schemathesis") is None,
                    reason="schemathesis is not installed (pip install schemathesis)")
async def test_schemathesis_finds_no_server_errors(as_user, jp_http_port, jp_base_url, tmp_path):
    world = await build_world(as_user)  # path parameters point at real objects, so requests get past 404
    config = tmp_path / "schemathesis.toml"
    params = {f"path.{k}": world[k] for k in ("ws", "dashboard", "dataset", "folder", "widget", "number", "kind",
                                             "member", "name")}
    params["query.workspace"] = world["ws_name"]
    config.write_text("[parameters]\n" + "".join(f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in params.items()))
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}dataask/api/openapi.json"
    report = tmp_path / "st.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", url,
        "-H", "Authorization: token tok-alice",
        "--exclude-name", "DELETE /dataask/api/workspaces/{ws}",  # keep the fixture world alive for the rest
        "--exclude-name", "DELETE /dataask/api/dashboards/{dashboard}",
        "--checks", "not_a_server_error", "--max-examples", "6", "--seed", "1", "--workers", "1",
        "--request-timeout", "20", "--phases", "examples,coverage,fuzzing", "--report", "ndjson",
        "--report-ndjson-path", str(report), "--suppress-health-check", "all",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)  # its cache stays out of the repo
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=600)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "not_a_server_error" in text or "passed" in text.lower(), text[-2000:]
