"""``POST /dataask/api/dashboards/{id}/widgets/{wid}/run``: a widget's query through the core
(single connection, saved dataset, federated), cached, guarded, audited."""

from __future__ import annotations

import sqlite3

import pytest

from tests.server_fixtures import (  # noqa: F401  (fixtures)
    build_world,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

pytestmark = pytest.mark.usefixtures("sqlite_only")


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
        con.execute("INSERT INTO t VALUES (1, 'a', 1.5), (2, 'b', 2.5)")
    return path


async def _add(client, world, widget) -> str:
    out = await client.ok("POST", f"dashboards/{world['dashboard']}/widgets", widget, expect=201)
    return out["id"]


async def test_run_sql_widget_cached_and_audited(as_user, data_file):
    alice, vic = as_user("alice"), as_user("vic")
    world = await build_world(as_user, with_connection=True, sqlite_path=data_file)
    dash = await alice.ok("GET", f"dashboards/{world['dashboard']}")
    wid = next(w["id"] for w in dash["widgets"] if w["kind"] == "table")
    run = f"dashboards/{world['dashboard']}/widgets/{wid}/run"
    first = await vic.ok("POST", run, {})
    assert first["columns"] == ["id", "name"] and first["rows"] == [[1, "a"], [2, "b"]]
    assert first["row_count"] == 2 and first["truncated"] is False and first["cache"] == "miss"
    assert (await vic.ok("POST", run, {}))["cache"] == "hit"
    assert (await vic.ok("POST", run, {"use_cache": False}))["cache"] == "off"
    capped = await vic.ok("POST", run, {"max_rows": 1, "use_cache": False})
    assert capped["rows"] == [[1, "a"]] and capped["truncated"] is True
    assert (await as_user("mallory").post(run, {}))[0] == 404
    audit = (await alice.ok("GET", f"workspaces/{world['ws']}/audit", params={"action": "query.run"}))["items"]
    assert len(audit) == 4 and {e["actor"] for e in audit} == {"vic"}
    assert all("sql" not in e["detail"] and e["detail"]["widget"] == wid for e in audit)


async def test_run_refuses_unsafe_sql_and_text_widgets(as_user, data_file):
    alice = as_user("alice")
    world = await build_world(as_user, with_connection=True, sqlite_path=data_file)
    bad = await _add(alice, world, {"kind": "table", "query": {"kind": "sql", "connection": "local",
                                                                "sql": "DELETE FROM t"}})
    code, err = await alice.post(f"dashboards/{world['dashboard']}/widgets/{bad}/run", {})
    assert code == 400 and err["error"]["code"] == "unsafe_sql"
    with sqlite3.connect(data_file) as con:
        assert con.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2
    code, err = await alice.post(f"dashboards/{world['dashboard']}/widgets/{world['widget']}/run", {})
    assert code == 400 and "no query" in err["error"]["message"]
    errors = (await alice.ok("GET", f"workspaces/{world['ws']}/audit", params={"action": "query.run"}))["items"]
    assert errors[0]["outcome"] == "error" and errors[0]["detail"]["error"] == "unsafe_sql"


async def test_run_dataset_widget_and_dataset_of_another_workspace(as_user, data_file):
    alice = as_user("alice")
    world = await build_world(as_user, with_connection=True, sqlite_path=data_file)
    ds = await alice.ok("POST", f"workspaces/{world['ws']}/datasets", {
        "name": "expensive", "query": {"kind": "sql", "connection": "local",
                                       "sql": "SELECT name FROM t WHERE price > 2"}}, expect=201)
    wid = await _add(alice, world, {"kind": "metric", "query": {"kind": "dataset", "dataset_id": ds["id"]}})
    out = await alice.ok("POST", f"dashboards/{world['dashboard']}/widgets/{wid}/run", {})
    assert out["rows"] == [["b"]]
    other = await alice.ok("POST", "workspaces", {"name": "Elsewhere"}, expect=201)
    copy = await alice.ok("POST", f"dashboards/{world['dashboard']}/clone", {"workspace_id": other["id"]},
                          expect=201)
    code, err = await alice.post(f"dashboards/{copy['id']}/widgets/{wid}/run", {})
    assert code == 400 and "no longer exists in this workspace" in err["error"]["message"]
    sql_wid = next(w["id"] for w in copy["widgets"] if w["kind"] == "table")
    code, err = await alice.post(f"dashboards/{copy['id']}/widgets/{sql_wid}/run", {})
    assert code == 404 and err["error"]["code"] == "connection_not_found"  # connections stay per workspace


async def test_run_federated_widget(as_user, data_file):
    alice = as_user("alice")
    world = await build_world(as_user, with_connection=True, sqlite_path=data_file)
    wid = await _add(alice, world, {"kind": "bar", "query": {
        "kind": "federated", "sql": "SELECT name, price FROM local.t ORDER BY price DESC"}})
    out = await alice.ok("POST", f"dashboards/{world['dashboard']}/widgets/{wid}/run", {"use_cache": False})
    assert out["rows"] == [["b", 2.5], ["a", 1.5]] and out["columns"] == ["name", "price"]
