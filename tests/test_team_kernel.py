"""A team-mode kernel against a real DataAsk Hub service (``jupyter lab`` with the extension, in
team mode, its own SQLite store and key, the demo shop in SQLite + DuckDB): the kernel never
opens the store or the key (SECURITY 6); ``%%ask``, knowledge, ``%%federate`` and plain SQL run
through the service's API with the user's token; the service decides roles, runs the guard and
audits; secrets never come back (SECURITY 1)."""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.request

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy import event
from sqlalchemy.pool import Pool

from dataask_jupyter import crypto
from dataask_jupyter.config import Settings
from dataask_jupyter.connections.remote import RemoteConnectionManager
from dataask_jupyter.core import DataAsk
from dataask_jupyter.errors import (
    ConfigError,
    Forbidden,
    NotFound,
    QueryTimeout,
    UnsafeSQL,
    WorkspaceNotFound,
)
from dataask_jupyter.safety import MAX_SQL_CHARS
from dataask_jupyter.store import database
from dataask_jupyter.store.remote import RemoteRepository
from tests.team_service import WORKSPACE, ResponseLog, hub_service, team_kernel_env
from tests.test_security_credentials import db, roles  # noqa: F401  (fixtures: a PostgreSQL role with a canary)

pytestmark = pytest.mark.slow

FEDERATED = ("SELECT c.segment, COUNT(*) AS orders, ROUND(SUM(o.amount), 2) AS revenue "
             "FROM shop_crm.customers c JOIN shop_sales.orders o ON o.customer_id = c.id "
             "GROUP BY c.segment ORDER BY c.segment")
QUESTION = "how many customers per segment"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with hub_service(tmp_path_factory.mktemp("hub")) as svc:
        yield svc


@pytest.fixture
def log(monkeypatch):
    return ResponseLog(monkeypatch)


@pytest.fixture
def kernel(service, monkeypatch, tmp_path, log):
    """``kernel("alice")``: that user's team-mode DataAsk, built from the environment alone."""
    made = []

    def build(user: str) -> DataAsk:
        team_kernel_env(monkeypatch, service, user, tmp_path / f"kernel-{user}")
        made.append(DataAsk())
        return made[-1]

    yield build
    for da in made:
        da.close()


def service_rows(service, sql: str, *args) -> list[tuple]:
    """Read the service's own store file (read-only), not through the kernel."""
    with sqlite3.connect(f"file:{service.store_path}?mode=ro", uri=True) as con:
        return con.execute(sql, args).fetchall()


def _refuse(*args, **kwargs):
    raise AssertionError("a team-mode kernel opened a store or read a key")


def test_sec_06_team_kernel_never_opens_the_store_or_the_key(service, kernel, monkeypatch, tmp_path, log):
    opened = []

    def spy(*args):
        opened.append(args)

    event.listen(Pool, "connect", spy)
    try:
        monkeypatch.setattr(database, "create_engine", _refuse)
        monkeypatch.setattr(crypto, "load_keys", _refuse)
        for attr in ("effective_store_url", "key_file", "sqlite_store_path"):
            monkeypatch.setattr(Settings, attr, property(_refuse))
        da = kernel("alice")
        assert isinstance(da.repo, RemoteRepository) and isinstance(da.connections, RemoteConnectionManager)
        assert getattr(da.repo, "engine", None) is None
        assert da.settings.store_url is None and da.settings.secret_keys == ()
        assert da.sql("shop_crm", "SELECT COUNT(*) AS n FROM customers", workspace=WORKSPACE).row_count == 1
        assert da.ask(QUESTION, workspace=WORKSPACE).row_count > 0
        assert da.federate(FEDERATED, workspace=WORKSPACE, use_cache=False).row_count > 0
        assert sorted(c.name for c in da.list_connections(WORKSPACE)) == ["shop_crm", "shop_sales"]
    finally:
        event.remove(Pool, "connect", spy)
    assert opened == []  # no SQLAlchemy pool in this process ever connected
    env = "\n".join(f"{k}={v}" for k, v in os.environ.items())
    assert "DATAASK_STORE_URL" not in os.environ and "DATAASK_SECRET_KEY" not in os.environ
    for secret in (service.key, str(service.home), str(service.store_path)):
        assert secret not in env and secret not in repr(da.settings)
    home = da.settings.home
    assert not (home / "dataask.db").exists() and not (home / "secret.key").exists()
    assert log.bodies and not log.containing(service.key) and not log.containing("gAAAAA")  # no ciphertext either


def test_team_mode_without_url_or_token_refuses(monkeypatch, tmp_path):
    for var in [v for v in os.environ if v.startswith(("DATAASK_", "JUPYTERHUB_"))]:
        monkeypatch.delenv(var)
    settings = Settings(home=tmp_path / "k", mode="team")
    with pytest.raises(ConfigError, match="DATAASK_API_URL") as info:
        DataAsk(settings)
    assert "Hub service" in str(info.value)
    monkeypatch.setenv("DATAASK_API_URL", "http://127.0.0.1:9/dataask/api")
    with pytest.raises(ConfigError, match="DATAASK_API_TOKEN"):
        DataAsk(settings)
    assert not (tmp_path / "k").exists()


def test_ask_conversation_is_stored_in_the_service(service, kernel):
    from dataask_magics import DataAskMagics

    da = kernel("alice")
    magics = DataAskMagics(shell=InteractiveShell.instance(), app=da)
    magics.workspace = WORKSPACE
    first = magics.ask("--new", QUESTION)
    assert first is not None and first.row_count > 0 and not first.federated
    turns = service_rows(service, "SELECT t.username, t.question, t.sql, t.row_count, c.username FROM ask_turns t "
                                  "JOIN ask_conversations c ON c.id = t.conversation_id WHERE t.question = ?", QUESTION)
    assert turns and turns[-1] == ("alice", QUESTION, first.sql, first.row_count, "alice")
    # a new kernel continues the same conversation, read back through the service
    again = kernel("alice")
    conv = again.conversations.open(WORKSPACE)
    assert conv.id == magics.conversations[WORKSPACE].id
    assert [t.question for t in again.conversations.history(WORKSPACE, 1)] == [QUESTION]
    # another user's kernel neither sees it as theirs nor can append to it
    ed = kernel("ed")
    assert ed.conversations.open(WORKSPACE).id != conv.id
    assert QUESTION in [t.question for t in ed.conversations.history(WORKSPACE, 5, everyone=True)]
    status, body = service.call("ed", "POST", f"workspaces/{service.ws_id}/conversations/{conv.id}/turns",
                                {"question": "x", "sql": "SELECT 1"})
    assert status == 404 and body["error"]["code"] == "not_found"


def test_teach_and_instruct_round_trip(service, kernel):
    sql = "SELECT name, city FROM customers WHERE segment = 'Enterprise' ORDER BY name"
    ed = kernel("ed").asker(WORKSPACE)
    pair = ed.teach("who are our key accounts", sql, connection="shop_crm")
    ed.instruct("revenue means sum(amount) of orders that were not cancelled")
    entries = kernel("alice").asker(WORKSPACE).knowledge_entries()
    taught = {(e.kind, e.text, e.created_by) for e in entries}
    assert ("sql_pair", "who are our key accounts", "ed") in taught
    assert ("instruction", "revenue means sum(amount) of orders that were not cancelled", "ed") in taught
    assert service_rows(service, "SELECT created_by, sql FROM knowledge_sql_pairs WHERE id = ?", pair.id) == [
        ("ed", sql)]
    audit = service_rows(service, "SELECT actor, action FROM audit_log WHERE action LIKE 'knowledge.%'")
    assert ("ed", "knowledge.teach") in audit and ("ed", "knowledge.instruct") in audit
    answer = kernel("alice").ask("who are our key accounts", workspace=WORKSPACE)
    assert answer.sql.strip() == sql  # the offline engine reuses the taught SQL
    with pytest.raises(Forbidden):  # a viewer may not teach: the service decides
        kernel("vic").asker(WORKSPACE).instruct("everything is free")
    status, body = service.call("ed", "POST", f"workspaces/{service.ws_id}/knowledge/sql_pairs",
                                {"question": "drop it", "sql": "DELETE FROM customers", "connection": "shop_crm"})
    assert status == 400 and body["error"]["code"] == "unsafe_sql"
    ed.forget("sql_pair", pair.id)
    assert not service_rows(service, "SELECT id FROM knowledge_sql_pairs WHERE id = ?", pair.id)


def test_federate_and_sql_match_personal_mode(service, kernel, tmp_path):
    team = kernel("vic")  # a viewer may read
    with DataAsk(Settings(home=tmp_path / "personal")) as personal:
        for name, url in service.urls.items():
            personal.connect(name, url)
        mine = personal.federate(FEDERATED, use_cache=False).table
        plain = personal.sql("shop_sales", "SELECT id, amount FROM orders ORDER BY id").table
    theirs = team.federate(FEDERATED, workspace=WORKSPACE, use_cache=False).table
    assert theirs.num_rows > 0 and theirs.to_pylist() == mine.to_pylist()
    assert theirs.schema.names == mine.schema.names
    remote = team.sql("shop_sales", "SELECT id, amount FROM orders ORDER BY id", workspace=WORKSPACE)
    assert remote.table.equals(plain) and not remote.truncated
    capped = team.sql("shop_sales", "SELECT id FROM orders ORDER BY id", workspace=WORKSPACE, max_rows=3)
    assert capped.row_count == 3 and capped.truncated
    runs = service.ok("alice", "GET", f"workspaces/{service.ws_id}/audit",
                      params={"action": "query.run", "actor": "vic", "limit": 1000})["items"]
    fetched = {(a["target"], a["detail"]["fetch"]) for a in runs if a["outcome"] == "ok"}
    assert {("shop_crm", True), ("shop_sales", True), ("shop_sales", False)} <= fetched  # audited per statement


def test_a_reduced_fetch_too_long_for_the_guard_runs_unreduced(service, kernel):
    vic = kernel("vic")
    inner = "SELECT id, amount FROM orders ORDER BY id"
    reduced = (f"SELECT * FROM (\n{inner}\n) AS __r WHERE \"__r\".\"id\" IN ("
               + ", ".join(str(i) for i in range(1, 20_001)) + ")")
    assert len(reduced) > MAX_SQL_CHARS
    with pytest.raises(UnsafeSQL, match="longer than"):  # a statement of one's own: the service guards it whole
        vic.connections.execute("shop_sales", reduced, workspace=WORKSPACE)
    engine_built = vic.connections.execute("shop_sales", reduced, workspace=WORKSPACE, check=False, internal=True)
    assert engine_built.table.equals(vic.sql("shop_sales", inner, workspace=WORKSPACE).table)  # a superset
    sneaky = reduced.replace(inner, "DELETE FROM orders")
    with pytest.raises(UnsafeSQL, match="DELETE"):  # what runs is still guarded by the service
        vic.connections.execute("shop_sales", sneaky, workspace=WORKSPACE, check=False, internal=True)


def test_roles_guard_and_audit_on_the_service(service, kernel, tmp_path):
    crm = service.data_dir / "shop_crm.sqlite"
    before = sqlite3.connect(crm).execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    copy = service.data_dir / "extra.sqlite"
    sqlite3.connect(copy).close()
    with pytest.raises(Forbidden):  # a viewer may not add a connection: 403 from the service
        kernel("vic").connect("extra", f"sqlite:///{copy}", workspace=WORKSPACE)
    alice = kernel("alice")
    assert "extra" not in alice.connections.names(WORKSPACE)

    mallory = kernel("mallory")  # no member: the workspace does not exist for them
    with pytest.raises(NotFound):
        mallory.sql("shop_crm", "SELECT 1 AS x", workspace=WORKSPACE)
    with pytest.raises(WorkspaceNotFound):
        mallory.list_connections(WORKSPACE)
    status, body = service.call("mallory", "POST", "connections/shop_crm/query", {"sql": "SELECT 1"},
                                {"workspace": WORKSPACE})
    assert status == 404 and body["error"]["code"] == "not_found"

    with pytest.raises(UnsafeSQL, match="DELETE"):  # the service's guard, not the kernel's
        alice.connections.execute("shop_crm", "DELETE FROM customers", workspace=WORKSPACE, check=False)
    assert sqlite3.connect(crm).execute("SELECT COUNT(*) FROM customers").fetchone()[0] == before
    denied = service.ok("alice", "GET", f"workspaces/{service.ws_id}/audit",
                        params={"action": "query.run", "actor": "alice"})["items"]
    assert any(a["outcome"] == "denied" and a["detail"]["error"] == "unsafe_sql" for a in denied)
    assert all("DELETE" not in str(a) for a in denied)  # a hash of the SQL, never the SQL

    info = alice.connect("extra", f"sqlite:///{copy}", workspace=WORKSPACE)  # admin: tested, saved by the service
    assert info.name == "extra" and "extra" in alice.connections.names(WORKSPACE)
    assert alice.connections.test("extra", WORKSPACE).ok
    alice.connections.remove("extra", WORKSPACE)
    assert "extra" not in alice.connections.names(WORKSPACE)

    req = urllib.request.Request(f"{service.api}/connections/shop_crm/query?workspace={WORKSPACE}",
                                 data=b'{"sql": "SELECT id FROM customers", "max_rows": 2}', method="POST",
                                 headers={"Authorization": "token tok-vic", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 (127.0.0.1 only)
        assert r.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
        assert (r.headers["X-DataAsk-Row-Count"], r.headers["X-DataAsk-Truncated"]) == ("2", "true")
        import pyarrow as pa

        assert pa.ipc.open_stream(r.read()).read_all().num_rows == 2


def test_statement_timeout_stops_the_query_on_the_service(service, kernel):
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) "
            "SELECT COUNT(*) AS n FROM c")
    vic = kernel("vic")
    started = time.monotonic()
    with pytest.raises(QueryTimeout):  # the service interrupts the statement and answers 504
        vic.sql("shop_crm", slow, workspace=WORKSPACE, timeout=1)
    assert time.monotonic() - started < 10
    assert vic.sql("shop_crm", "SELECT COUNT(*) AS n FROM customers", workspace=WORKSPACE).row_count == 1


def test_sec_01_password_never_comes_back_to_a_team_kernel(service, kernel, roles, log):  # noqa: F811
    role = roles()
    alice = kernel("alice")
    info = alice.connect("pg_canary", role.url, workspace=WORKSPACE)
    try:
        assert role.password not in info.url
        assert alice.sql("pg_canary", "SELECT COUNT(*) AS n FROM items", workspace=WORKSPACE).to_dict()["rows"] == [[3]]
        alice.list_connections(WORKSPACE)
        alice.connections.info("pg_canary", WORKSPACE)
        alice.connections.tables("pg_canary", WORKSPACE)
        assert alice.connections.test("pg_canary", WORKSPACE).ok
        with pytest.raises(Exception):  # noqa: B017,PT011  (a source error: its text must not hold the password)
            alice.sql("pg_canary", "SELECT * FROM no_such_table", workspace=WORKSPACE)
        alice.federate("SELECT i.name, c.segment FROM pg_canary.items i CROSS JOIN "
                       "(SELECT DISTINCT segment FROM shop_crm.customers) c", workspace=WORKSPACE)
        service.ok("alice", "GET", f"workspaces/{service.ws_id}/audit", params={"limit": 200})
    finally:
        alice.connections.remove("pg_canary", WORKSPACE)
    assert log.bodies and log.containing(role.password) == []
    assert [b for b in service.bodies if role.password.encode() in b] == []


def test_magics_in_a_team_kernel(service, monkeypatch, tmp_path, capfd, log):
    team_kernel_env(monkeypatch, service, "alice", tmp_path / "kernel")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dataask_jupyter")
    magics = shell.magics_manager.registry["DataAsk"]
    if magics._app is not None:
        magics._app.close()
    magics._app = None
    magics.conversations.clear()
    shell.run_line_magic("config", f"DataAsk.workspace = '{WORKSPACE}'")
    try:
        asked = shell.run_cell(f"%%ask --new\n{QUESTION}", store_history=False)
        assert asked.success and asked.result.row_count > 0, capfd.readouterr().err
        assert isinstance(magics.app.repo, RemoteRepository)
        fed = shell.run_cell(f"%%federate -o fed\n{FEDERATED}", store_history=False)
        assert fed.success and len(shell.user_ns["fed"]) > 0
        listed = shell.run_cell("%dataask connections", store_history=False)
        assert sorted(c.name for c in listed.result) == ["shop_crm", "shop_sales"]
        history = shell.run_cell("%dataask history 1", store_history=False)
        assert [t.question for t in history.result] == [QUESTION]
        exported = shell.run_cell('%dataask history --export "Team answers"', store_history=False)
        receipt = exported.result
        assert exported.success and receipt.created_dashboard and len(receipt.widget_ids) == 1
        widgets = service.ok("alice", "GET", f"dashboards/{receipt.dashboard_id}/widgets")["items"]
        assert [w["title"] for w in widgets] == [QUESTION]
        capfd.readouterr()
        refused = shell.run_cell("%dataask sql shop_crm DELETE FROM customers", store_history=False)
        err = capfd.readouterr().err
        assert refused.result is None and "DataAsk:" in err and "DELETE" in err and "Traceback" not in err
    finally:
        if magics._app is not None:
            magics._app.close()
        magics._app = None
        magics.conversations.clear()
        shell.run_line_magic("config", "DataAsk.workspace = 'default'")
    assert not (tmp_path / "kernel" / "dataask.db").exists()
    rows = service_rows(service, "SELECT username FROM ask_turns WHERE question = ?", QUESTION)
    assert ("alice",) in rows
