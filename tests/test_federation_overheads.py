"""What keeps small federated queries cheap without changing answers.

* cached table lists and column types (``SchemaCache``), dropped when a connection is
  saved again, and looked up afresh when a table or column is missing;
* the join engine's DuckDB opened ahead of time (``DuckDBJoinEngine.warm``);
* one binding DuckDB reused between plans (``OraclePool``), emptied after each plan.
"""

from __future__ import annotations

import os
import sqlite3

import duckdb
import pyarrow as pa
import pytest

from dataask_jupyter.connections.schema_cache import SchemaCache
from dataask_jupyter.errors import TableNotFound, UsageError
from dataask_jupyter.federation import Planner
from dataask_jupyter.federation.engine import DuckDBJoinEngine
from dataask_jupyter.federation.oracle import OraclePool
from tests.foundation_fixtures import app_fixture, sources_fixture  # noqa: F401


@pytest.fixture
def shop(sources):
    """The SQLite file behind connection ``lite`` (``duck`` is connected too)."""
    return sources["lite"]


def _sqlite(path, sql: str) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(sql)
        con.commit()
    finally:
        con.close()


# -- schema cache -------------------------------------------------------------------------------------------
def test_schema_cache_expires_and_drops_per_connection():
    now = [0.0]
    cache = SchemaCache(ttl=60, clock=lambda: now[0])
    calls = []

    def load(value):
        def go():
            calls.append(value)
            return value
        return go

    assert cache.get((1, "a", "tables"), load(["x"])) == ["x"]
    assert cache.get((1, "a", "tables"), load(["y"])) == ["x"]  # served from the cache
    now[0] = 61.0
    assert cache.get((1, "a", "tables"), load(["y"])) == ["y"]  # expired: asked again
    cache.get((1, "b", "tables"), load(["b"]))
    cache.drop(1, "a")
    assert cache.get((1, "a", "tables"), load(["z"])) == ["z"]
    assert cache.get((1, "b", "tables"), load(["not asked"])) == ["b"]  # other connection kept
    assert calls == [["x"], ["y"], ["b"], ["z"]]


def test_schema_cache_does_not_keep_errors():
    cache = SchemaCache()

    def fail():
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        cache.get((1, "a", "tables"), fail)
    assert cache.get((1, "a", "tables"), lambda: ["ok"]) == ["ok"]


def test_lookups_are_served_from_the_cache(app, shop, monkeypatch):
    app.federate("SELECT count(*) FROM lite.items JOIN duck.events ON items.id = events.id", use_cache=False)
    asked = []
    real = app.connections._call

    def counting(name, workspace, fn, **kw):
        asked.append(name)
        return real(name, workspace, fn, **kw)

    monkeypatch.setattr(app.connections, "_call", counting)
    app.connections.tables("lite")
    app.connections.columns("lite", "items")
    assert asked == []


def test_a_table_created_after_caching_is_found(app, shop):
    assert app.federate("SELECT count(*) AS n FROM lite.items", use_cache=False).rows() == [[5]]
    _sqlite(shop, "CREATE TABLE fresh (id INTEGER); INSERT INTO fresh VALUES (1), (2);")
    got = app.federate("SELECT count(*) AS n FROM lite.fresh JOIN duck.events ON fresh.id = events.id",
                       use_cache=False)
    assert got.rows() == [[2]]
    with pytest.raises(TableNotFound):  # a real miss is still a clear error
        app.federate("SELECT * FROM lite.nowhere", use_cache=False)


def test_a_column_added_after_caching_is_found(app, shop):
    app.federate("SELECT id FROM lite.items JOIN duck.events USING (id)", use_cache=False)
    _sqlite(shop, "ALTER TABLE items ADD COLUMN colour TEXT; UPDATE items SET colour = 'red' WHERE id = 1;")
    got = app.federate("SELECT items.colour FROM lite.items JOIN duck.events ON items.id = events.id "
                       "WHERE items.colour IS NOT NULL", use_cache=False)
    assert got.rows() == [["red"]]
    with pytest.raises(UsageError):  # a column that really is not there
        app.federate("SELECT items.nope FROM lite.items JOIN duck.events ON items.id = events.id",
                     use_cache=False)


def test_an_explicit_listing_asks_the_database(app, shop):
    assert "later" not in app.connections.tables("lite")
    _sqlite(shop, "CREATE TABLE later (id INTEGER);")
    assert "later" not in app.connections.tables("lite")  # served from the cache for a minute
    assert "later" in app.connections.tables("lite", fresh=True)  # %dataask tables / dataask tables


def test_saving_a_connection_again_drops_its_cached_schema(app, shop, tmp_path):
    assert "items" in app.connections.tables("lite")
    other = tmp_path / "data" / "other.sqlite"
    _sqlite(other, "CREATE TABLE parts (id INTEGER);")
    app.connect("lite", f"sqlite:///{other}", replace=True)
    assert app.connections.tables("lite") == ["parts"]


# -- join engine warm-up ------------------------------------------------------------------------------------
def test_warmed_connection_serves_the_next_run_and_stays_isolated(tmp_path):
    engine = DuckDBJoinEngine(temp_root=tmp_path)
    table = pa.table({"x": [1, 2, 3]})
    engine.warm()
    engine.warm()  # one spare at most
    assert len(engine._slot) == 1
    assert engine.execute("SELECT sum(x) AS s FROM t", {"t": table}).to_pylist() == [{"s": 6}]
    assert engine._slot == []  # the run took the warmed connection
    engine.warm()
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(UsageError):  # the warmed connection is as locked down as a fresh one
        engine.execute(f"SELECT * FROM read_csv('{secret}')", {})
    engine.warm()
    with pytest.raises(UsageError):
        engine.execute("SET enable_external_access = true", {})
    engine.warm()
    engine.close()
    assert engine._slot == []
    assert os.listdir(tmp_path) == ["secret.csv"]  # no spill folder left behind


def test_federator_warms_only_for_joins(app, shop):
    engine = app.federator.engine
    app.federate("SELECT count(*) FROM lite.items", use_cache=False)  # pushed whole: no join engine
    assert engine._slot == []
    got = app.federate("SELECT count(*) AS n FROM lite.items JOIN duck.events ON items.id = events.id",
                       use_cache=False)
    assert got.rows() == [[5]]
    assert engine._slot == []  # warmed during the fetches, taken by the join


# -- binding DuckDB reused ----------------------------------------------------------------------------------
def _objects(con: duckdb.DuckDBPyConnection) -> tuple:
    return (
        con.execute("SELECT database_name FROM duckdb_databases() ORDER BY 1").fetchall(),
        con.execute("SELECT table_name FROM duckdb_tables()").fetchall(),
        con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall(),
    )


def test_oracle_pool_reuses_an_emptied_connection():
    pool = OraclePool()
    with pool.oracle({"__t0": [("a", "INTEGER")]}, {("shop", "orders"): "__t0", ("items",): "__t0"}) as o:
        assert o.describe("SELECT a FROM shop.orders") == [("a", "INTEGER")]
        first = o._con
    idle = pool._idle
    assert idle is first
    assert _objects(idle) == ([("memory",), ("system",), ("temp",)], [], [])
    # the same names with another schema bind against the new one, not leftovers
    with pool.oracle({"__t0": [("b", "VARCHAR")]}, {("shop", "orders"): "__t0"}) as o:
        assert o._con is first
        assert o.describe("SELECT b FROM shop.orders") == [("b", "VARCHAR")]
        with pytest.raises(duckdb.Error):
            o.describe("SELECT a FROM shop.orders")
    pool.close()
    assert pool._idle is None


def test_planner_plans_in_parallel_threads(app, shop):
    from concurrent.futures import ThreadPoolExecutor

    from dataask_jupyter.connections.sources import managed_sources

    planner, sources = Planner(), managed_sources(app.connections)
    sqls = [f"SELECT items.id FROM lite.items JOIN duck.events ON items.id = events.id WHERE items.id > {i}"
            for i in range(12)]
    with ThreadPoolExecutor(4) as pool:
        plans = list(pool.map(lambda s: planner.plan(s, sources), sqls))
    assert [p.output_columns for p in plans] == [("id",)] * 12
    assert all(f"> {i}" in " ".join(f.sql for f in p.fetches) for i, p in enumerate(plans))


# -- guard verdicts -----------------------------------------------------------------------------------------
def test_guard_verdicts_are_reused_but_refusals_are_not(app, shop, monkeypatch):
    import uuid

    from dataask_jupyter import safety
    from dataask_jupyter.errors import UnsafeSQL

    calls = []
    real = safety.assert_read_only

    def counting(sql, dialect="duckdb", *a, **kw):
        calls.append(sql)
        return real(sql, dialect, *a, **kw)

    monkeypatch.setattr(safety, "assert_read_only", counting)
    tag = uuid.uuid4().hex  # a statement no other test planned
    sql = f"SELECT items.id, '{tag}' AS t FROM lite.items JOIN duck.events ON items.id = events.id"
    first = app.federate(sql, use_cache=False)
    checked = len(calls)
    assert checked >= 2  # at least the statement and the residual (fetch SQL may be known already)
    assert app.federate(sql, use_cache=False).rows() == first.rows()
    assert len(calls) == checked  # all allowed before: not parsed again
    for _ in range(2):
        with pytest.raises(UnsafeSQL):
            app.federate(f"DELETE FROM lite.items WHERE name = '{tag}'", use_cache=False)
    assert sum("DELETE" in c for c in calls) == 2  # a refusal is checked every time


# -- DB-API rows to Arrow -----------------------------------------------------------------------------------
def test_gc_is_paused_while_rows_convert_and_restored_after():
    import gc
    import threading

    from dataask_jupyter.connections.base import gc_paused

    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other_fetch():
        with gc_paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other_fetch)
    with gc_paused():
        assert not gc.isenabled()
        worker.start()
        inside.wait(5)
    assert not gc.isenabled()  # the other fetch is still converting
    release.set()
    worker.join(5)
    assert gc.isenabled()  # the last one out turns it back on
    gc.disable()  # a caller who turned it off keeps it off
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_sqlite_fetch_converts_every_type_with_the_collector_paused(app, shop):
    got = app.sql("lite", "SELECT id, name, price, NULL AS empty FROM items ORDER BY id")
    table = got.table
    assert table.num_rows == 5 and table.column_names == ["id", "name", "price", "empty"]
    assert table.column("id").to_pylist() == [1, 2, 3, 4, 5]
