"""Saving a prep flow as a view: DataAsk's one write, opt-in per connection.

Real SQLite and DuckDB files in unit tests; real PostgreSQL and MariaDB (fresh databases from
``tests/services.py``) in the integration tests. Each database: refused without the allow,
created with it (same rows as the flow's run), replaced, bad names refused with nothing
created, the pooled connection still read-only afterwards, and an audit entry without secrets.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest

from dataask_jupyter.errors import (
    AlreadyExists,
    FlowError,
    Forbidden,
    SourceError,
    UnsafeSQL,
    UsageError,
)
from dataask_jupyter.prep import api
from dataask_jupyter.prep.commands import dispatch
from dataask_jupyter.prep.session import FlowEditor
from dataask_jupyter.prep.views import parse_view_name, save_view, view_statements
from tests.foundation_fixtures import duckdb_file, make_app, sqlite_file

BAD_NAMES = ["x; DROP TABLE y", 'v"; DROP TABLE items; --', "v`", "'v'", "a.b.c", "", "1abc", "v--", "v name",
             "v/**/", "ä"]


def flow_for(connection: str, table: str, threshold: int = 2, *, descending: bool = True) -> dict:
    return {"steps": [
        {"type": "source", "connection": connection, "table": table},
        {"type": "filter", "conditions": [{"column": "id", "op": ">", "value": threshold}]},
        {"type": "sort", "by": [{"column": "id", "descending": descending}]},
    ]}


def rows(app, connection: str, sql: str) -> list[tuple]:
    table = app.sql(connection, sql).table
    return sorted(tuple(r.values()) for r in table.to_pylist())


def flow_rows(app, flow) -> list[tuple]:
    return sorted(tuple(r.values()) for r in api.run_flow(app, flow).table.to_pylist())


def audit(app, action_prefix: str = "view."):
    return [e for e in app.connections.repo.list_audit(100) if e.action.startswith(action_prefix)]


@pytest.fixture
def files(tmp_path):
    return {"sqlite": sqlite_file(tmp_path / "data" / "shop.sqlite", rows=6),
            "duckdb": duckdb_file(tmp_path / "data" / "events.duckdb", rows=6)}


@pytest.fixture
def app(tmp_path, files):
    with make_app(tmp_path / "home") as a:
        a.connect("lite", f"sqlite:///{files['sqlite']}", allow_views=True)
        a.connect("duck", f"duckdb:///{files['duckdb']}", allow_views=True)
        a.connect("lite_ro", f"sqlite:///{files['sqlite']}")
        yield a


LOCAL = [("lite", "items", "sqlite"), ("duck", "events", "duckdb")]


def check_roundtrip(app, connection: str, table: str, view: str = "big_ids") -> None:
    """Create, read back, refuse a duplicate, replace, and show the pool stays read-only."""
    flow = flow_for(connection, table)
    saved = save_view(app, flow, connection, view)
    assert saved.to_dict()["view"] == view and not saved.replaced
    assert rows(app, connection, f"SELECT * FROM {view}") == flow_rows(app, flow)
    assert view in app.connections.tables(connection)
    with pytest.raises(AlreadyExists, match="--replace"):
        save_view(app, flow, connection, view)
    wider = flow_for(connection, table, threshold=4)
    assert save_view(app, wider, connection, view, replace=True).replaced
    assert rows(app, connection, f"SELECT * FROM {view}") == flow_rows(app, wider)
    # the normal connection is still read-only: the guard refuses, and so does the database
    with pytest.raises(UnsafeSQL):
        app.sql(connection, "CREATE TABLE sneaky (a int)")
    with pytest.raises(SourceError):
        app.connections.execute(connection, "CREATE TABLE sneaky (a int)", check=False)
    with pytest.raises(SourceError):
        app.connections.execute(connection, f"DROP VIEW {view}", check=False)
    assert view in app.connections.tables(connection) and "sneaky" not in app.connections.tables(connection)
    entries = audit(app)
    assert [(e.action, e.outcome) for e in entries[:3]] == [("view.replace", "ok"), ("view.create", "error"),
                                                            ("view.create", "ok")]
    assert entries[0].target == f"{connection}.{view}" and entries[0].actor == "tester"


@pytest.mark.parametrize("connection, table, _dialect", LOCAL)
def test_view_created_replaced_and_pool_stays_read_only(app, connection, table, _dialect):
    check_roundtrip(app, connection, table)


def test_refused_without_the_allow_with_the_exact_command(app):
    with pytest.raises(Forbidden) as info:
        save_view(app, flow_for("lite_ro", "items"), "lite_ro", "v")
    assert "dataask connection add lite_ro 'sqlite:///" in info.value.hint and "--replace --allow-views" in info.value.hint
    assert "v" not in app.connections.tables("lite_ro")
    entry = audit(app)[0]
    assert (entry.action, entry.outcome, entry.target) == ("view.create", "denied", "lite_ro.v")


def test_allow_views_is_revoked_by_a_replace_without_it(app, files):
    app.connect("lite", f"sqlite:///{files['sqlite']}", replace=True)
    with pytest.raises(Forbidden):
        save_view(app, flow_for("lite", "items"), "lite", "v")
    with pytest.raises(Forbidden):
        app.connections.writable("lite")


@pytest.mark.parametrize("connection, table, _dialect", LOCAL)
@pytest.mark.parametrize("bad", BAD_NAMES)
def test_bad_view_names_are_refused_and_nothing_is_created(app, connection, table, _dialect, bad):
    before = app.connections.tables(connection)
    with pytest.raises(UsageError):
        save_view(app, flow_for(connection, table), connection, bad)
    assert app.connections.tables(connection) == before


def test_view_name_parts():
    assert parse_view_name("v1") == (None, "v1")
    assert parse_view_name("main.v1") == ("main", "v1")
    for bad in BAD_NAMES:
        with pytest.raises(UsageError):
            parse_view_name(bad)


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb", "postgres", "mysql"])
def test_statement_is_built_from_a_tree_and_rechecked(dialect):
    select = "SELECT a FROM t WHERE b = 'x''; DROP TABLE t; --'"
    statements = view_statements(select, dialect, None, "v", replace=True)
    assert statements[-1].startswith("CREATE ")
    assert "DROP TABLE t" in statements[-1]  # only inside the quoted literal
    with pytest.raises(UnsafeSQL):
        view_statements("SELECT 1; DROP TABLE t", dialect, None, "v", replace=False)
    with pytest.raises(UnsafeSQL):
        view_statements("DELETE FROM t", dialect, None, "v", replace=False)


def test_multi_connection_flow_is_refused(app):
    flow = {"steps": [
        {"type": "source", "connection": "lite", "table": "items"},
        {"type": "join", "right": {"connection": "duck", "table": "events"}, "on": [["id", "id"]], "how": "inner"},
    ]}
    with pytest.raises(FlowError, match="one database"):
        save_view(app, flow, "lite", "joined")
    with pytest.raises(FlowError, match="reads 'lite'"):
        save_view(app, flow_for("lite", "items"), "duck", "v")
    assert "joined" not in app.connections.tables("lite")


def test_duckdb_file_held_by_another_process_gives_a_clear_error(app, files):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(files['duckdb'])!r}, read_only=True)  # another kernel reading it
            print("ready", flush=True)
            sys.stdin.readline()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(SourceError, match="one writer per file"):
            save_view(app, flow_for("duck", "events"), "duck", "v_locked")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert audit(app)[0].outcome == "error"
    save_view(app, flow_for("duck", "events"), "duck", "v_locked")  # works once the other writer is gone


def test_team_mode_needs_the_admin_switch(app, files, monkeypatch):
    monkeypatch.delenv("DATAASK_ALLOW_VIEWS", raising=False)
    manager = app.connections
    manager.settings = dataclasses.replace(manager.settings, mode="team")
    with pytest.raises(Forbidden, match="team server") as info:
        save_view(app, flow_for("lite", "items"), "lite", "v")
    assert "DATAASK_ALLOW_VIEWS=1" in info.value.hint
    with pytest.raises(Forbidden, match="team server"):
        app.connect("other", f"sqlite:///{files['sqlite']}", allow_views=True)
    assert audit(app)[0].detail["reason"] == "team policy"
    monkeypatch.setenv("DATAASK_ALLOW_VIEWS", "1")
    with pytest.raises(Forbidden) as info:  # past the view switch, the team URL policy still applies
        app.connect("other", f"sqlite:///{files['sqlite']}", allow_views=True)
    assert "DATAASK_ALLOW_VIEWS" not in str(info.value)


def test_canvas_command_saves_a_view(app):
    editor = FlowEditor(app, flow={**flow_for("lite", "items"), "output_name": "canvas_view"})
    response, _ = dispatch(editor, {"type": "request", "id": 1, "command": "save_view"})
    assert response["ok"], response
    assert response["result"]["view"] == "canvas_view" and response["result"]["connection"] == "lite"
    assert rows(app, "lite", "SELECT * FROM canvas_view") == flow_rows(app, editor.flow())
    response, _ = dispatch(editor, {"type": "request", "id": 2, "command": "save_view", "replace": True})
    assert response["ok"] and response["result"]["replaced"]
    response, _ = dispatch(editor, {"type": "request", "id": 3, "command": "save_view", "view_name": "x; DROP TABLE y"})
    assert not response["ok"] and response["error"]["code"] == "bad_request"
    ro = FlowEditor(app, flow=flow_for("lite_ro", "items"))
    response, _ = dispatch(ro, {"type": "request", "id": 4, "command": "save_view", "view_name": "v"})
    assert not response["ok"] and "--allow-views" in response["error"]["message"]


def test_cli_prep_view(tmp_path, files, capsys, monkeypatch):
    from dataask_jupyter import cli

    for var in ("DATAASK_SECRET_KEY", "DATAASK_MODE", "DATAASK_STORE_URL", "DATAASK_ALLOW_VIEWS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATAASK_HOME", str(tmp_path / "cli_home"))
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(flow_for("shop", "items")))
    assert cli.main(["connection", "add", "shop", f"sqlite:///{files['sqlite']}"]) == 0
    assert cli.main(["prep", "view", str(flow), "--connection", "shop", "--name", "v_cli"]) == 1
    err = capsys.readouterr().err
    assert "--allow-views" in err and "Traceback" not in err
    assert cli.main(["connection", "add", "shop", f"sqlite:///{files['sqlite']}", "--replace", "--allow-views"]) == 0
    capsys.readouterr()
    assert cli.main(["prep", "view", str(flow), "--connection", "shop", "--name", "v_cli", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["view"] == "v_cli" and out["dialect"] == "sqlite" and not out["replaced"]
    assert cli.main(["prep", "view", str(flow), "-c", "shop", "-n", "v_cli", "--replace"]) == 0
    assert "Replaced view v_cli" in capsys.readouterr().out
    assert cli.main(["sql", "shop", "CREATE TABLE t2 (a int)"]) != 0
    assert cli.main(["prep", "view", str(flow), "--connection", "shop", "--name", "x; DROP TABLE items"]) != 0
    assert cli.main(["sql", "shop", "SELECT count(*) AS n FROM v_cli", "--json"]) == 0


# -- real servers ----------------------------------------------------------------------------------
def _secret_free(app, secret: str) -> None:
    for entry in app.connections.repo.list_audit(200):
        assert secret not in json.dumps(dataclasses.asdict(entry), default=str)


@pytest.mark.integration
def test_postgres_view(tmp_path, fresh_pg_db):
    from tests.foundation_fixtures import pg_connect, pg_parts

    with pg_connect(fresh_pg_db) as c:
        c.execute("CREATE TABLE items (id int PRIMARY KEY, name text, price float8)")
        c.execute("INSERT INTO items SELECT g, 'item' || g, g * 1.5 FROM generate_series(1, 6) g")
    with make_app(tmp_path / "home") as app:
        app.connect("pg_ro", fresh_pg_db)
        with pytest.raises(Forbidden):
            save_view(app, flow_for("pg_ro", "items"), "pg_ro", "big_ids")
        app.connect("pg", fresh_pg_db, allow_views=True)
        check_roundtrip(app, "pg", "items")
        # replace may change the columns (DROP + CREATE in one transaction)
        narrow = {"steps": [*flow_for("pg", "items")["steps"], {"type": "select", "columns": ["name"]}]}
        save_view(app, narrow, "pg", "big_ids", replace=True)
        assert rows(app, "pg", "SELECT * FROM big_ids") == flow_rows(app, narrow)
        save_view(app, flow_for("pg", "items"), "pg", "public.schema_view")
        assert rows(app, "pg", "SELECT count(*) FROM public.schema_view") == [(4,)]
        for bad in BAD_NAMES[:4]:
            with pytest.raises(UsageError):
                save_view(app, flow_for("pg", "items"), "pg", bad)
        with pytest.raises(SourceError):  # replace never drops a table
            save_view(app, flow_for("pg", "items"), "pg", "items", replace=True)
        assert rows(app, "pg", "SELECT count(*) FROM items") == [(6,)]
        _secret_free(app, pg_parts(fresh_pg_db)["password"])


@pytest.mark.integration
def test_mariadb_view(tmp_path, fresh_mysql_db):
    import pymysql

    from tests.services import mysql_connect_args

    args = mysql_connect_args(fresh_mysql_db)
    con = pymysql.connect(**args)
    try:
        with con.cursor() as cur:
            cur.execute("CREATE TABLE items (id int PRIMARY KEY, name varchar(20), price double)")
            cur.executemany("INSERT INTO items VALUES (%s, %s, %s)", [(i, f"item{i}", i * 1.5) for i in range(1, 7)])
        con.commit()
    finally:
        con.close()
    with make_app(tmp_path / "home") as app:
        app.connect("my_ro", fresh_mysql_db)
        with pytest.raises(Forbidden):
            save_view(app, flow_for("my_ro", "items"), "my_ro", "big_ids")
        app.connect("my", fresh_mysql_db, allow_views=True)
        check_roundtrip(app, "my", "items")
        for bad in BAD_NAMES[:4]:
            with pytest.raises(UsageError):
                save_view(app, flow_for("my", "items"), "my", bad)
        with pytest.raises(SourceError):  # CREATE OR REPLACE VIEW never replaces a table
            save_view(app, flow_for("my", "items"), "my", "items", replace=True)
        assert rows(app, "my", "SELECT count(*) FROM items") == [(6,)]
        if args.get("password"):
            _secret_free(app, str(args["password"]))
