"""The metadata store on SQLite (WAL) and on a real PostgreSQL: migrations, repository, audit."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sqlite3
from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect, text

from dataask_jupyter.errors import (
    AlreadyExists,
    ConfigError,
    SourceError,
    StoreUnavailable,
    WorkspaceNotFound,
)
from dataask_jupyter.store import (
    DEFAULT_WORKSPACE,
    LocalRepository,
    create_store_engine,
    migrate,
    open_store,
)
from dataask_jupyter.store import repository as repository_module
from tests.foundation_fixtures import make_settings, pg_sqla, sqlite_file

TABLES = {"workspaces", "connections", "connection_events", "audit_log", "alembic_version"}


def _head() -> str:
    from alembic.script import ScriptDirectory

    from dataask_jupyter.store.database import MIGRATIONS_DIR

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store_url(request, tmp_path):
    """URL of a fresh, empty metadata store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'dataask.db'}"
    return pg_sqla(request.getfixturevalue("fresh_pg_db"))


@pytest.fixture
def repo(store_url):
    r = open_store(store_url)
    yield r
    r.engine.dispose()


def _ws(repo) -> int:
    return repo.get_workspace(DEFAULT_WORKSPACE).id


# -- migrations ---------------------------------------------------------------------------------
def test_migrations_create_every_table(repo):
    names = set(inspect(repo.engine).get_table_names())
    assert TABLES <= names
    with repo.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [_head()]
    cols = {c["name"] for c in inspect(repo.engine).get_columns("connections")}
    assert {"workspace_id", "name", "family", "url", "secret", "options"} <= cols
    uniques = inspect(repo.engine).get_unique_constraints("connections")
    assert any(set(u["column_names"]) == {"workspace_id", "name"} for u in uniques)


def test_default_workspace_exists(repo):
    ws = repo.list_workspaces()
    assert [w.name for w in ws] == [DEFAULT_WORKSPACE]
    assert ws[0].created_at is not None and ws[0].created_at.tzinfo is not None


def test_second_open_is_idempotent_and_keeps_data(store_url):
    first = open_store(store_url)
    first.save_connection(_ws(first), "keep", "sqlite", "sqlite:///k.db", None, {"a": 1}, "t")
    first.engine.dispose()
    for _ in range(2):
        again = open_store(store_url)
        assert [w.name for w in again.list_workspaces()] == [DEFAULT_WORKSPACE]
        assert again.get_connection(_ws(again), "keep").options == {"a": 1}
        with again.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        again.engine.dispose()


def test_sqlite_store_uses_wal(tmp_path):
    path = tmp_path / "h" / "dataask.db"
    repo = open_store(f"sqlite:///{path}")
    repo.audit("t", "touch")
    with repo.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    raw = sqlite3.connect(path)  # WAL is persistent: a plain connection sees it too
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    assert path.with_name("dataask.db-wal").exists()
    repo.engine.dispose()


def test_open_store_creates_the_folder(tmp_path):
    path = tmp_path / "a" / "b" / "c" / "dataask.db"
    open_store(f"sqlite:///{path}").engine.dispose()
    assert path.exists()


def test_bad_store_urls(tmp_path):
    with pytest.raises(ConfigError):
        create_store_engine("not a url")
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL"):
        create_store_engine("mysql://u@127.0.0.1/db")


def test_unreachable_postgres_store_is_503_without_secrets():
    url = "postgresql+psycopg://dataask:StoreCanary-pw@127.0.0.1:1/dataask_test?connect_timeout=3"
    with pytest.raises(StoreUnavailable) as info:
        open_store(url)
    assert info.value.http_status == 503
    assert "StoreCanary" not in str(info.value) and "postgresql" not in str(info.value)


def test_plain_postgresql_url_uses_psycopg3():
    engine = create_store_engine("postgresql://u@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"


# -- repository CRUD ----------------------------------------------------------------------------
def test_workspaces(repo):
    a = repo.ensure_workspace("analytics", actor="alice")
    assert repo.ensure_workspace("analytics").id == a.id  # idempotent
    assert repo.get_workspace("analytics") == a
    assert [w.name for w in repo.list_workspaces()] == ["analytics", DEFAULT_WORKSPACE]
    with pytest.raises(WorkspaceNotFound) as info:
        repo.get_workspace("analytic")
    assert "Did you mean 'analytics'?" in str(info.value)
    assert isinstance(info.value, KeyError) and info.value.http_status == 404


def test_connection_crud(repo):
    ws = _ws(repo)
    other = repo.ensure_workspace("other").id
    rec = repo.save_connection(ws, "sales", "postgres", "postgresql://u@h/db", "tok1", {"x": 1}, "alice")
    assert (rec.name, rec.family, rec.url, rec.secret, rec.options) == ("sales", "postgres", "postgresql://u@h/db",
                                                                         "tok1", {"x": 1})
    assert rec.created_at.tzinfo is not None
    assert repo.get_connection(ws, "sales") == rec
    assert repo.get_connection(other, "sales") is None  # names are per workspace
    repo.save_connection(other, "sales", "sqlite", "sqlite:///o.db", None, {}, "bob")
    with pytest.raises(AlreadyExists):
        repo.save_connection(ws, "sales", "postgres", "postgresql://u@h/db2", "tok2", {}, "alice")
    assert repo.get_connection(ws, "sales").url == "postgresql://u@h/db"
    replaced = repo.save_connection(ws, "sales", "postgres", "postgresql://u@h/db2", "tok2", {}, "alice", replace=True)
    assert replaced.id == rec.id and replaced.url.endswith("/db2") and replaced.secret == "tok2"
    assert replaced.updated_at >= rec.updated_at
    repo.save_connection(ws, "alpha", "duckdb", "duckdb:///a.duckdb", None, {}, "alice")
    assert [c.name for c in repo.list_connections(ws)] == ["alpha", "sales"]
    repo.record_event(rec.id, "query", True, latency_ms=3.0, rows=10, bytes=100)
    assert repo.remove_connection(ws, "sales") is True
    assert repo.remove_connection(ws, "sales") is False
    assert repo.recent_events(rec.id) == []
    assert repo.get_connection(other, "sales") is not None


def test_events_and_usage(repo):
    rec = repo.save_connection(_ws(repo), "c", "sqlite", "sqlite:///c.db", None, {}, "t")
    assert repo.usage_totals(rec.id).queries == 0
    repo.record_event(rec.id, "connect", True, latency_ms=5.0)
    repo.record_event(rec.id, "query", True, latency_ms=1.5, rows=10, bytes=80)
    repo.record_event(rec.id, "query", True, latency_ms=2.5, rows=5, bytes=40)
    repo.record_event(rec.id, "error", False, message="boom")
    events = repo.recent_events(rec.id)
    assert [e.kind for e in events] == ["error", "query", "query", "connect"]  # newest first
    assert events[0].ok is False and events[0].message == "boom"
    assert events[0].at.tzinfo is not None
    totals = repo.usage_totals(rec.id)
    assert (totals.queries, totals.rows, totals.bytes, totals.errors) == (2, 15, 120, 1)
    assert len(repo.recent_events(rec.id, limit=2)) == 2


def test_event_pruning_keeps_usage(repo, monkeypatch):
    monkeypatch.setattr(repository_module, "EVENTS_KEPT_PER_CONNECTION", 20)
    rec = repo.save_connection(_ws(repo), "c", "sqlite", "sqlite:///c.db", None, {}, "t")
    for i in range(200):
        if i % 2:
            repo.record_event(rec.id, "query", True, latency_ms=1.0, rows=1, bytes=8)
        else:
            repo.record_event(rec.id, "ping", True, latency_ms=1.0)
    events = repo.recent_events(rec.id, limit=1000)
    assert len([e for e in events if e.kind == "ping"]) < 100  # old pings pruned
    assert repo.usage_totals(rec.id).queries == 100  # query events are never pruned


def test_audit(repo):
    ws = _ws(repo)
    repo.audit("alice", "connection.add", target_type="connection", target="sales", workspace_id=ws,
               detail={"family": "postgres"})
    repo.audit("bob", "connection.remove", target_type="connection", target="x", workspace_id=None, outcome="denied")
    rows = repo.list_audit()
    assert [(r.actor, r.action, r.outcome) for r in rows] == [("bob", "connection.remove", "denied"),
                                                              ("alice", "connection.add", "ok")]
    assert rows[1].detail == {"family": "postgres"} and rows[1].at.tzinfo is not None
    assert [r.actor for r in repo.list_audit(workspace_id=ws)] == ["alice"]
    assert len(repo.list_audit(limit=1)) == 1


def test_rewrite_secrets_is_one_transaction(repo):
    ws = _ws(repo)
    for i in range(5):
        repo.save_connection(ws, f"c{i}", "postgres", "postgresql://u@h/db", f"old{i}", {}, "t")
    repo.save_connection(ws, "nosecret", "sqlite", "sqlite:///x.db", None, {}, "t")
    seen = []

    def fail_on_c3(name, token):
        seen.append(name)
        if name == "c3":
            raise RuntimeError("corrupt")
        return token.replace("old", "new")

    with pytest.raises(RuntimeError):
        repo.rewrite_secrets(fail_on_c3)
    assert [c.secret for c in repo.list_connections(ws) if c.secret] == [f"old{i}" for i in range(5)]
    assert "nosecret" not in seen
    assert repo.rewrite_secrets(lambda n, t: t.replace("old", "new")) == 5
    assert repo.rewrite_secrets(lambda n, t: None) == 0
    assert sorted(c.secret for c in repo.list_connections(ws) if c.secret) == [f"new{i}" for i in range(5)]


def test_repository_satisfies_protocol(repo):
    from dataask_jupyter.store import Repository

    for name in Repository.__dict__:
        if not name.startswith("_"):
            assert callable(getattr(LocalRepository, name)), name


# -- concurrency --------------------------------------------------------------------------------
def test_concurrent_open_from_threads(store_url):
    def go(i):
        r = open_store(store_url)
        r.audit(f"t{i}", "opened")
        ws = r.ensure_workspace("shared")
        r.engine.dispose()
        return ws.id

    with cf.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(go, range(8)))
    assert len(set(ids)) == 1
    r = open_store(store_url)
    assert sorted(w.name for w in r.list_workspaces()) == [DEFAULT_WORKSPACE, "shared"]
    assert len(r.list_audit(limit=100)) == 8
    r.engine.dispose()


def _open_and_write(store_url, gate, results):
    gate.wait(60)
    try:
        r = open_store(store_url)
        ws = r.get_workspace("default").id
        for i in range(10):
            r.save_connection(ws, f"p{os.getpid()}_{i}", "sqlite", "sqlite:///x.db", None, {}, "t")
            r.audit("proc", "write")
        r.engine.dispose()
        results.put("ok")
    except BaseException as exc:  # noqa: BLE001
        results.put(repr(exc))


def test_concurrent_open_from_processes(store_url):
    """Server extension and kernels open (and migrate) the store at the same moment. Forked
    processes skip the interpreter start-up, so they really do start together."""
    ctx = multiprocessing.get_context("fork")
    gate, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_open_and_write, args=(store_url, gate, results)) for _ in range(4)]
    for p in procs:
        p.start()
    gate.set()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert outcomes == ["ok"] * 4
    r = open_store(store_url)
    assert len(r.list_connections(_ws(r))) == 40
    assert [w.name for w in r.list_workspaces()] == [DEFAULT_WORKSPACE]
    assert len(r.list_audit(limit=1000)) == 40
    r.engine.dispose()


def test_migrate_on_a_dirty_engine_twice(store_url):
    engine = create_store_engine(store_url)
    migrate(engine)
    migrate(engine)
    repo = LocalRepository(engine)
    assert repo.list_workspaces() == []  # migrate alone makes tables, open_store the default workspace
    engine.dispose()


# -- audit through the connection manager -------------------------------------------------------
def test_audit_on_add_and_remove_has_no_secret(store_url, tmp_path):
    from dataask_jupyter.core import DataAsk

    src = sqlite_file(tmp_path / "src.sqlite")
    settings = make_settings(tmp_path / "home", store_url=store_url)
    with DataAsk(settings, actor="carol") as app:
        app.connect("local", f"sqlite:///{src}")
        with pytest.raises(SourceError):
            app.connect("broken", "postgresql://u:AuditCanary-9@127.0.0.1:1/db")
        app.connections.remove("local")
        rows = app.repo.list_audit()
    actions = [(r.actor, r.action, r.target, r.outcome) for r in rows]
    assert actions == [("carol", "connection.remove", "local", "ok"),
                       ("carol", "connection.add", "broken", "error"),
                       ("carol", "connection.add", "local", "ok")]
    assert all("AuditCanary" not in repr(r) for r in rows)
    assert rows[2].at <= datetime.now(timezone.utc)
