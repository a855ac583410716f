"""The ``dataask`` command: real subprocesses for the process contract (exit codes, one JSON
object on stdout, errors on stderr), and ``cli.main`` in-process for the rest (same code,
without paying the import time of a new interpreter per case)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from dataask_jupyter import cli
from tests.foundation_fixtures import dataask_env, make_app, one_json, run_cli, sqlite_file


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    for var in ("DATAASK_SECRET_KEY", "DATAASK_MODE", "DATAASK_STORE_URL", "DATAASK_ALLOWED_HOSTS",
                "DATAASK_MAX_ROWS", "DATAASK_QUERY_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATAASK_HOME", str(h))
    monkeypatch.setenv("DATAASK_CONNECT_TIMEOUT", "5")
    return h


@pytest.fixture
def lite(tmp_path):
    return sqlite_file(tmp_path / "shop.sqlite", rows=5)


def main(capsys, *argv, stdin: str | None = None, monkeypatch=None):
    """Run ``cli.main`` in-process; return (exit code, stdout, stderr)."""
    if stdin is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def stored(home) -> list[str]:
    with make_app(home) as app:
        return [c.name for c in app.list_connections()]


# -- real subprocesses ------------------------------------------------------------------------------
def test_subprocess_add_then_list_json(home, lite):
    res = run_cli(home, "connection", "add", "shop", f"sqlite:///{lite}", "--json")
    assert res.returncode == 0, res.stderr
    added = one_json(res.stdout)
    assert added["name"] == "shop" and added["family"] == "sqlite" and added["health"]["status"] == "active"
    assert res.stderr == ""
    res = run_cli(home, "connection", "list", "--json")
    listed = one_json(res.stdout)
    assert listed["workspace"] == "default"
    (conn,) = listed["connections"]
    assert conn["name"] == "shop" and conn["health"]["latency_p50_ms"] is not None
    assert set(conn["usage"]) == {"queries", "rows", "bytes", "errors"}


def test_subprocess_errors_go_to_stderr_with_exit_codes(home, tmp_path):
    res = run_cli(home, "connection", "add", "gone", f"sqlite:///{tmp_path / 'missing.sqlite'}", "--json")
    assert res.returncode == 1 and res.stdout == ""
    err = json.loads(res.stderr)  # --json errors are JSON too
    assert err["error"]["code"] == "source_error" and "does not exist" in err["error"]["message"]
    assert stored(home) == []  # failed add saved nothing
    res = run_cli(home, "connection")  # argparse usage error
    assert res.returncode == 2 and res.stdout == "" and "usage:" in res.stderr


def test_console_script_is_installed(home):
    exe = shutil.which("dataask")
    assert exe, "the `dataask` script is not on PATH (pip install -e .)"
    res = subprocess.run([exe, "--help"], capture_output=True, text=True, env=dataask_env(home), timeout=120)
    assert res.returncode == 0
    for sub in ("connection", "tables", "sql", "rotate-key", "guard", "demo"):
        assert sub in res.stdout


@pytest.mark.slow
def test_demo_no_lab_is_idempotent(home):
    res = run_cli(home, "demo", "--no-lab", timeout=300)
    assert res.returncode == 0, res.stderr
    for name in ("shop_crm", "shop_sales", "vega"):
        assert f"{name}" in res.stdout
    assert res.stdout.count(" added ") == 3
    res2 = run_cli(home, "demo", "--no-lab", timeout=300)
    assert res2.returncode == 0, res2.stderr
    assert res2.stdout.count(" kept ") == 3 and " added " not in res2.stdout
    with make_app(home) as app:
        assert sorted(c.name for c in app.list_connections()) == ["shop_crm", "shop_sales", "vega"]
        assert all(c.health.status == "active" for c in app.list_connections())
        assert "customers" in app.connections.tables("shop_crm")
        assert {"orders", "products"} <= set(app.connections.tables("shop_sales"))


# -- in-process: every subcommand -----------------------------------------------------------------------
def test_connection_lifecycle(home, lite, capsys):
    code, out, err = main(capsys, "connection", "add", "shop", f"sqlite:///{lite}")
    assert code == 0 and "Saved connection 'shop'" in out and err == ""
    code, out, _ = main(capsys, "connection", "list")
    assert code == 0 and "shop" in out and "active" in out
    code, out, _ = main(capsys, "connection", "test", "shop", "--json")
    result = one_json(out)
    assert code == 0 and result["ok"] is True and result["latency_ms"] > 0
    code, out, _ = main(capsys, "connection", "test", "shop")
    assert code == 0 and "'shop' OK" in out
    code, out, _ = main(capsys, "tables", "shop", "--json")
    assert one_json(out) == {"connection": "shop", "tables": ["items"]}
    code, out, _ = main(capsys, "tables", "shop")
    assert out.strip() == "items"
    code, out, _ = main(capsys, "connection", "remove", "shop")
    assert code == 0 and "Removed connection 'shop'" in out
    assert stored(home) == []


def test_connection_test_failure_exits_1(home, tmp_path, capsys):
    lite = sqlite_file(tmp_path / "soon_gone.sqlite")
    main(capsys, "connection", "add", "gone", f"sqlite:///{lite}")
    lite.unlink()
    code, out, err = main(capsys, "connection", "test", "gone")
    assert code == 1 and out == "" and "'gone' failed:" in err and "does not exist" in err
    code, out, err = main(capsys, "connection", "test", "gone", "--json")
    result = one_json(out)
    assert code == 1 and result["ok"] is False and "does not exist" in result["message"]


def test_sql_json_and_limit(home, lite, capsys):
    main(capsys, "connection", "add", "shop", f"sqlite:///{lite}")
    code, out, err = main(capsys, "sql", "shop", "SELECT id, name FROM items ORDER BY id", "--json", "--limit", "2")
    assert code == 0 and err == ""
    obj = one_json(out)
    assert obj["columns"] == ["id", "name"] and obj["rows"] == [[1, "item1"], [2, "item2"]]
    assert obj["truncated"] is True and obj["row_count"] == 2 and obj["connection"] == "shop"
    code, out, _ = main(capsys, "sql", "shop", "SELECT count(*) AS n FROM items")
    assert code == 0 and "1 row(s)" in out and "5" in out


def test_sql_refused_by_guard(home, lite, capsys):
    main(capsys, "connection", "add", "shop", f"sqlite:///{lite}")
    code, out, err = main(capsys, "sql", "shop", "DELETE FROM items")
    assert code == 1 and out == "" and err.startswith("dataask: ") and "Traceback" not in err
    code, out, err = main(capsys, "sql", "shop", "DELETE FROM items", "--json")
    assert code == 1 and out == "" and json.loads(err)["error"]["code"] == "unsafe_sql"


def test_unknown_connection_did_you_mean(home, lite, capsys):
    main(capsys, "connection", "add", "shop", f"sqlite:///{lite}")
    for argv in (("tables", "shpo"), ("sql", "shpo", "SELECT 1"), ("connection", "test", "shpo"),
                 ("connection", "remove", "shpo")):
        code, out, err = main(capsys, *argv)
        assert code == 1 and out == "", argv
        assert "No connection named 'shpo'. Did you mean 'shop'?" in err and "Traceback" not in err
    code, _, err = main(capsys, "tables", "warehouse")
    assert code == 1 and "dataask connection add warehouse URL" in err


def test_failed_add_saves_nothing_and_hides_password(home, capsys):
    code, out, err = main(capsys, "connection", "add", "pg", "postgresql://u:CliCanary-77@127.0.0.1:1/db")
    assert code == 1 and out == ""
    assert "CliCanary" not in err and "postgresql://" not in err and "Could not connect to 'pg'" in err
    assert stored(home) == []
    code, _, err = main(capsys, "connection", "add", "x", "not a url")
    assert code == 1 and "not a connection URL" in err


@pytest.mark.parametrize(
    "argv",
    [(), ("connection",), ("connection", "add", "x"), ("sql", "x"), ("tables",), ("nonsense",),
     ("sql", "x", "SELECT 1", "--limit", "many"), ("connection", "list", "--bogus")],
)
def test_usage_errors_exit_2(home, capsys, argv):
    code, out, err = main(capsys, *argv)
    assert code == 2 and out == "" and "usage:" in err


def test_password_stdin(home, lite, capsys, monkeypatch):
    code, out, err = main(capsys, "connection", "add", "x", f"sqlite:///{lite}", "--password-stdin", stdin="",
                          monkeypatch=monkeypatch)
    assert code == 2 and "standard input is empty" in err
    code, out, err = main(capsys, "connection", "add", "x", f"sqlite:///{lite}", "--password-stdin", "--json",
                          stdin="StdinCanary-1\n", monkeypatch=monkeypatch)
    assert code == 0 and "StdinCanary" not in out + err
    assert one_json(out)["url"].endswith(f"{lite}")
    with make_app(home) as app:
        rec = app.repo.get_connection(1, "x")
        assert rec.secret and app.connections.cipher.decrypt(rec.secret) == "StdinCanary-1"


def test_guard(home, capsys):
    code, out, _ = main(capsys, "guard", "SELECT 1", "--json")
    assert code == 0 and one_json(out)["allowed"] is True
    code, out, _ = main(capsys, "guard", "SELECT 1; DROP TABLE t")
    assert code == 1 and out.startswith("refused")
    code, _, err = main(capsys, "guard")
    assert code == 2 and "Give a SQL statement" in err


def test_guard_jsonl(home, capsys, tmp_path):
    src = tmp_path / "q.jsonl"
    src.write_text(json.dumps({"sql": "SELECT 1"}) + "\n" + json.dumps({"sql": "DELETE FROM t", "dialect": "postgres"})
                   + "\n")
    code, out, _ = main(capsys, "guard", "--jsonl", str(src))
    verdicts = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [v["allowed"] for v in verdicts] == [True, False]


def test_rotate_key_personal(home, lite, capsys, monkeypatch):
    main(capsys, "connection", "add", "x", f"sqlite:///{lite}", "--password-stdin", stdin="pw\n",
         monkeypatch=monkeypatch)
    old = (home / "secret.key").read_text()
    code, out, _ = main(capsys, "rotate-key", "--json")
    assert code == 0 and one_json(out) == {"changed": 1, "key_source": "key file"}
    assert (home / "secret.key").read_text() != old
    code, out, _ = main(capsys, "sql", "x", "SELECT count(*) FROM items", "--json")
    assert code == 0 and one_json(out)["rows"] == [[5]]


def test_workspace_option(home, lite, capsys):
    with make_app(home) as app:
        app.repo.ensure_workspace("team2")
    code, _, _ = main(capsys, "connection", "add", "shop", f"sqlite:///{lite}", "-w", "team2")
    assert code == 0
    code, out, _ = main(capsys, "connection", "list", "--json", "--workspace", "team2")
    assert [c["name"] for c in one_json(out)["connections"]] == ["shop"]
    code, out, _ = main(capsys, "connection", "list", "--json")
    assert one_json(out)["connections"] == []
    code, _, err = main(capsys, "connection", "list", "-w", "teem2")
    assert code == 1 and "Did you mean 'team2'?" in err


@pytest.mark.integration
def test_postgres_through_the_cli(home, fresh_pg_db, capsys, monkeypatch):
    from tests.foundation_fixtures import pg_connect, pg_parts, without_password

    with pg_connect(fresh_pg_db) as c:
        c.execute("CREATE TABLE t (a int)")
        c.execute("INSERT INTO t SELECT generate_series(1, 3)")
    code, out, err = main(capsys, "connection", "add", "pg", without_password(fresh_pg_db), "--password-stdin",
                          "--json", stdin=pg_parts(fresh_pg_db)["password"] + "\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert pg_parts(fresh_pg_db)["password"] not in out
    code, out, _ = main(capsys, "sql", "pg", "SELECT sum(a) AS s FROM t", "--json")
    assert one_json(out)["rows"] == [[6]]
    code, out, _ = main(capsys, "tables", "pg", "--json")
    assert one_json(out)["tables"] == ["t"]
