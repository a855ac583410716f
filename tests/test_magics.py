"""``%dataask`` on a bare IPython ``InteractiveShell`` after ``%load_ext dataask_jupyter``."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.foundation_fixtures import sqlite_file


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataask_jupyter")
    yield ip


@pytest.fixture
def magics(shell, tmp_path, monkeypatch):
    """The registered magics object, pointed at a fresh DATAASK_HOME (its app is built lazily)."""
    for var in ("DATAASK_SECRET_KEY", "DATAASK_MODE", "DATAASK_STORE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATAASK_HOME", str(tmp_path / "home"))
    m = shell.magics_manager.registry["DataAsk"]
    if m._app is not None:
        m._app.close()
    m._app = None
    shell.run_line_magic("config", "DataAsk.workspace = 'default'")
    yield m
    if m._app is not None:
        m._app.close()
        m._app = None


@pytest.fixture
def lite(tmp_path):
    return sqlite_file(tmp_path / "shop.sqlite", rows=3)


def html(shell, obj) -> str:
    data, _ = shell.display_formatter.format(obj)
    return data["text/html"]


def cell(shell, capfd, source: str):
    """Run a cell the way a notebook does; return (result, stdout, stderr)."""
    result = shell.run_cell(source, store_history=False)
    out, err = capfd.readouterr()
    return result, out, err


def test_load_ext_registers_the_magic_and_builds_the_app_lazily(shell, magics, tmp_path):
    assert "dataask" in shell.magics_manager.magics["line"]
    assert magics._app is None
    assert not (tmp_path / "home").exists()  # nothing opened until the first command


def test_connect_and_connections_table(shell, magics, lite, tmp_path, capfd):
    result, out, err = cell(shell, capfd, f"%dataask connect shop sqlite:///{lite}")
    assert result.success and err == ""
    assert "Connected 'shop' (sqlite)." in out
    assert (tmp_path / "home" / "dataask.db").exists()  # DATAASK_HOME from the environment
    conns = shell.run_line_magic("dataask", "connections")
    page = html(shell, conns)
    assert "<table" in page and "shop" in page
    assert 'class="dataask-badge dataask-active"' in page
    assert " ms" in page  # latency p50 / p95
    assert [c.name for c in conns] == ["shop"]


def test_tables_test_sql_remove(shell, magics, lite, capfd):
    shell.run_line_magic("dataask", f"connect shop sqlite:///{lite}")
    tables = shell.run_line_magic("dataask", "tables shop")
    assert list(tables) == ["items"] and "items" in html(shell, tables)
    info = shell.run_line_magic("dataask", "test shop")
    assert info.name == "shop" and info.health.status == "active"
    res = shell.run_line_magic("dataask", "sql shop SELECT count(*) AS n FROM items")
    assert res.to_dict()["rows"] == [[3]] and "<table" in html(shell, res)
    result, out, err = cell(shell, capfd, "%dataask remove shop")
    assert result.success and "Removed 'shop'." in out
    assert list(shell.run_line_magic("dataask", "connections")) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [("tables shpo", "Did you mean 'shop'?"), ("test shpo", "Did you mean 'shop'?"),
     ("sql shpo SELECT 1", "Did you mean 'shop'?"), ("tables warehouse", "%dataask connect warehouse URL"),
     ("bogus", "Unknown %dataask subcommand 'bogus'"), ("", "%dataask needs a subcommand"),
     ("connect onlyname", "the following arguments are required: url"),
     ("connect bad-name sqlite://", "not a valid connection name"),
     ("sql shop DELETE FROM items", "DELETE"), ("connect x 'unclosed", "Could not parse")],
)
def test_user_errors_are_one_message_without_traceback(shell, magics, lite, capfd, line, expected):
    shell.run_line_magic("dataask", f"connect shop sqlite:///{lite}")
    capfd.readouterr()
    result, out, err = cell(shell, capfd, f"%dataask {line}")
    assert result.success and result.result is None
    assert expected in err, err
    assert "Traceback" not in out + err and "DataAsk:" in err
    if line.startswith("bogus") or not line:
        assert "Use one of: connect, connections" in err


def test_failing_test_is_reported(shell, magics, tmp_path, capfd):
    lite = sqlite_file(tmp_path / "soon_gone.sqlite")
    shell.run_line_magic("dataask", f"connect gone sqlite:///{lite}")
    magics.app.connections._drop((magics.app.repo.get_workspace("default").id, "gone"))
    lite.unlink()
    result, out, err = cell(shell, capfd, "%dataask test gone")
    assert result.success and "'gone' is not reachable" in err and "Traceback" not in err


def test_config_workspace(shell, magics, lite, capfd):
    magics.app.repo.ensure_workspace("team2")
    shell.run_line_magic("config", "DataAsk.workspace = 'team2'")
    assert magics.workspace == "team2"
    shell.run_line_magic("dataask", f"connect shop sqlite:///{lite}")
    assert [c.name for c in magics.app.list_connections("team2")] == ["shop"]
    assert list(magics.app.list_connections("default")) == []
    shell.run_line_magic("config", "DataAsk.workspace = 'nope'")
    result, out, err = cell(shell, capfd, "%dataask connections")
    assert "No workspace named 'nope'" in err and "Traceback" not in err


def test_config_lists_the_traits(shell, magics, capfd):
    shell.run_line_magic("config", "DataAsk")
    out, _ = capfd.readouterr()
    for trait in ("workspace", "max_rows", "timeout"):
        assert f"DataAsk.{trait}" in out


def test_config_max_rows(shell, magics, capfd, tmp_path):
    lite = sqlite_file(tmp_path / "many.sqlite", rows=20)
    shell.run_line_magic("dataask", f"connect many sqlite:///{lite}")
    shell.run_line_magic("config", "DataAsk.max_rows = 7")
    try:
        res = shell.run_line_magic("dataask", "sql many SELECT * FROM items")
        assert res.row_count == 7 and res.truncated
    finally:
        shell.run_line_magic("config", "DataAsk.max_rows = 0")


@pytest.mark.integration
def test_connections_html_never_shows_the_password(shell, magics, fresh_pg_db, capfd):
    from tests.foundation_fixtures import pg_parts

    password = pg_parts(fresh_pg_db)["password"]
    result, out, err = cell(shell, capfd, f"%dataask connect pg {fresh_pg_db}")
    assert result.success and err == "", err
    conns = shell.run_line_magic("dataask", "connections")
    page = html(shell, conns)
    assert "pg" in page and "********" in page and password not in page
    assert password not in repr(conns._repr_mimebundle_())
    assert password not in out
