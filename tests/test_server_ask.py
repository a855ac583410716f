"""``POST /dataask/api/ask``: the sidebar's ask box through a real Jupyter Server (offline engine)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.server_fixtures import (  # noqa: F401  (fixtures)
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

pytestmark = pytest.mark.usefixtures("sqlite_only")

CHANNELS = {"web": 3, "store": 2, "phone": 1}


@pytest.fixture
def shop(tmp_path):
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, channel TEXT, amount REAL)")
        rows = [(ch, 10.0 * (i + 1)) for ch, n in CHANNELS.items() for i in range(n)]
        con.executemany("INSERT INTO orders (channel, amount) VALUES (?, ?)", rows)
    return path


async def _workspace_with_shop(as_user, shop, name="Shop") -> dict:
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": name}, expect=201)
    await alice.ok("POST", "connections", {"name": "shop", "url": f"sqlite:///{shop}", "workspace": ws["name"]},
                   expect=201)
    await alice.ok("POST", f"workspaces/{ws['id']}/members", {"name": "vic", "role": "viewer"}, expect=201)
    return ws


async def test_ask_returns_the_cli_json_shape(as_user, shop):
    ws = await _workspace_with_shop(as_user, shop)
    out = await as_user("vic").ok("POST", "ask", {"question": "number of orders per channel", "workspace": ws["id"]})
    assert {"question", "sql", "federated", "engine", "columns", "rows", "row_count", "chart", "insights",
            "attempts", "connections", "truncated"} <= set(out)
    assert out["engine"] == "offline" and out["federated"] is False and out["connections"] == ["shop"]
    assert "orders" in out["sql"].lower() and out["row_count"] == 3 and out["truncated"] is False
    assert {row[0]: row[1] for row in out["rows"]} == CHANNELS
    assert out["chart"] is None or "mark" in out["chart"] or "layer" in out["chart"]
    # the %%federate form of the SQL names the connection and gives the same rows
    assert "shop.orders" in out["federate_sql"]
    from dataask_jupyter.core import DataAsk

    with DataAsk() as app:
        fed = app.federate(out["federate_sql"], workspace=ws["name"]).table.to_pylist()
    assert {tuple(r.values())[0]: tuple(r.values())[1] for r in fed} == CHANNELS
    # the same workspace by name, limited to one connection, rows capped
    capped = await as_user("alice").ok("POST", "ask", {"question": "number of orders per channel",
                                                       "workspace": ws["name"], "connections": ["shop"],
                                                       "max_rows": 1})
    assert capped["row_count"] == 3 and len(capped["rows"]) == 1 and capped["truncated"] is True


async def test_unknown_words_are_a_400_with_the_engines_explanation(as_user, shop):
    ws = await _workspace_with_shop(as_user, shop)
    code, body = await as_user("alice").post("ask", {"question": "flurb the wibble", "workspace": ws["id"]})
    assert code == 400, body
    assert set(body) == {"error"} and body["error"]["code"] in ("not_understood", "needs_clarification")
    assert "wibble" in body["error"]["message"] and "Traceback" not in body["error"]["message"]


async def test_bad_input_and_access(as_user, shop):
    ws = await _workspace_with_shop(as_user, shop)
    alice = as_user("alice")
    for bad in ({}, {"question": ""}, {"question": "x" * 3000}, {"question": "orders", "extra": 1},
                {"question": "orders", "connections": ["not a name"]}, {"question": "orders", "max_rows": 0}):
        code, body = await alice.post("ask", {"workspace": ws["id"], **bad})
        assert code == 400 and body["error"]["code"] == "bad_request", (bad, body)
    code, body = await alice.post("ask", {"question": "orders", "workspace": 0})
    assert code == 400, body
    code, body = await alice.post("ask", {"question": "orders per channel", "workspace": ws["id"],
                                          "connections": ["nosuch"]})
    assert code in (400, 404) and body["error"]["message"], body
    # a non-member: the workspace does not exist for them, by id or by name
    for key in (ws["id"], ws["name"]):
        code, body = await as_user("mallory").post("ask", {"question": "orders per channel", "workspace": key})
        assert code == 404 and body["error"]["code"] == "not_found"
    code, _ = await as_user(None).post("ask", {"question": "orders per channel"})
    assert code == 403
