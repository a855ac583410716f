"""Live connections to a real PostgreSQL and MariaDB (plus SQLite and DuckDB files) at once."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from dataask_jupyter.errors import PolicyViolation, QueryCancelled, QueryTimeout, SourceError
from tests.foundation_fixtures import (
    app_fixture,  # noqa: F401
    duckdb_file,
    make_app,
    my_connect,
    new_key,
    pg_connect,
    sqlite_file,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_db(fresh_pg_db):
    with pg_connect(fresh_pg_db) as c:
        c.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10, 2), seen timestamptz)")
        c.execute("INSERT INTO items SELECT g, 'item' || g, g * 1.5, '2024-01-01'::timestamptz + g * interval '1 day' "
                  "FROM generate_series(1, 5) g")
        c.execute("CREATE SCHEMA sales")
        c.execute("CREATE TABLE sales.orders (id bigint, amount double precision)")
        c.execute("INSERT INTO sales.orders VALUES (1, 10.5), (2, 20.25)")
        c.execute("CREATE FUNCTION wipe() RETURNS int LANGUAGE sql VOLATILE AS $$ DELETE FROM items; SELECT 1 $$")
    return fresh_pg_db


@pytest.fixture
def my_db(fresh_mysql_db):
    c = my_connect(fresh_mysql_db)
    with c.cursor() as cur:
        cur.execute("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10, 2))")
        cur.execute("INSERT INTO items VALUES " + ", ".join(f"({i}, 'item{i}', {i * 1.5})" for i in range(1, 6)))
    c.close()
    return fresh_mysql_db


def pg_count(url, table="items") -> int:
    with pg_connect(url) as c:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def my_count(url, table="items") -> int:
    c = my_connect(url)
    try:
        with c.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")
            return cur.fetchone()[0]
    finally:
        c.close()


@pytest.fixture
def four(app, pg_db, my_db, tmp_path):
    app.connect("pg", pg_db)
    app.connect("maria", my_db)
    app.connect("lite", f"sqlite:///{sqlite_file(tmp_path / 'lite.sqlite')}")
    app.connect("duck", f"duckdb:///{duckdb_file(tmp_path / 'duck.duckdb')}")
    return {"pg": pg_db, "maria": my_db}


# -- basics -------------------------------------------------------------------------------------
def test_postgres_add_tables_columns_execute(app, pg_db):
    info = app.connect("pg", pg_db)
    assert info.family == "postgres" and info.dialect == "postgres" and info.health.status == "active"
    assert "dataask-test-pw" not in info.url and "********" in info.url
    assert app.connections.tables("pg") == ["items"]
    cols = app.connections.columns("pg", "items")
    assert list(cols) == ["id", "name", "price", "seen"]
    assert cols["id"] == "int32" and cols["name"] == "string" and cols["seen"].startswith("timestamp")
    assert app.connections.columns("pg", "sales.orders") == {"id": "int64", "amount": "float64"}
    r = app.sql("pg", "SELECT id, name, price FROM items WHERE id > 3 ORDER BY id")
    assert r.to_dict()["rows"] == [[4, "item4", 6.0], [5, "item5", 7.5]]
    assert app.sql("pg", "SELECT sum(amount) AS s FROM sales.orders").to_dict()["rows"] == [[30.75]]


def test_mariadb_add_tables_columns_execute(app, my_db):
    info = app.connect("maria", my_db)
    assert info.family == "mysql" and info.health.status == "active" and "dataask-test-pw" not in info.url
    assert app.connections.tables("maria") == ["items"]
    cols = app.connections.columns("maria", "items")
    assert list(cols) == ["id", "name", "price"] and cols["id"] == "int32"
    r = app.sql("maria", "SELECT id, name FROM items WHERE id > 3 ORDER BY id")
    assert r.to_dict()["rows"] == [[4, "item4"], [5, "item5"]]


def test_sessions_are_read_only(app, pg_db, my_db):
    app.connect("pg", pg_db)
    app.connect("maria", my_db)

    def one(name, sql):  # the guard refuses session functions; these only read settings
        return app.sql(name, sql, check=False).to_dict()["rows"][0][0]

    assert one("pg", "SELECT current_setting('transaction_read_only')") == "on"
    assert one("pg", "SELECT current_setting('default_transaction_read_only')") == "on"
    assert one("pg", "SELECT current_setting('application_name')") == "dataask"
    assert one("maria", "SELECT @@session.tx_read_only") == 1
    assert one("maria", "SELECT @@session.time_zone") in ("UTC", "+00:00")


# -- many at once ---------------------------------------------------------------------------------
def test_four_backends_interleaved_from_threads(app, four):
    expected = {"pg": ("SELECT count(*) FROM items", 5), "maria": ("SELECT count(*) FROM items", 5),
                "lite": ("SELECT count(*) FROM items", 5), "duck": ("SELECT count(*) FROM events", 5)}
    errors, done = [], []
    barrier = threading.Barrier(8)

    def worker(name):
        sql, n = expected[name]
        try:
            barrier.wait(10)
            for _ in range(8):
                assert app.sql(name, sql).to_dict()["rows"] == [[n]]
            done.append(name)
        except Exception as exc:  # noqa: BLE001
            errors.append((name, repr(exc)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in expected for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(done) == 8
    infos = {c.name: c for c in app.list_connections()}
    assert set(infos) == set(expected)
    for name in expected:
        assert infos[name].usage.queries == 16
        assert infos[name].health.status == "active"


def test_pool_reuses_one_server_session(app, pg_db, my_db):
    app.connect("pg", pg_db)
    app.connect("maria", my_db)
    first = app.connections.backend("pg")
    pids = {app.sql("pg", "SELECT pg_backend_pid() AS p").to_dict()["rows"][0][0] for _ in range(5)}
    assert len(pids) == 1 and app.connections.backend("pg") is first
    time.sleep(1.1)  # idle past the pre-ping threshold: pinged, not reopened
    assert app.sql("pg", "SELECT pg_backend_pid() AS p").to_dict()["rows"][0][0] in pids
    ids = {app.sql("maria", "SELECT CONNECTION_ID() AS c").to_dict()["rows"][0][0] for _ in range(5)}
    assert len(ids) == 1
    dbname = pg_db.rsplit("/", 1)[1]
    with pg_connect(pg_db) as c:
        n = c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'dataask'",
                      (dbname,)).fetchone()[0]
    assert n == 2  # one pooled psycopg session (ibis, pings) + one ADBC session for Arrow results


# -- caps, timeouts, cancel ---------------------------------------------------------------------
def test_postgres_row_cap_streams(app, pg_db):
    app.connect("pg", pg_db)
    t = time.perf_counter()
    r = app.sql("pg", "SELECT generate_series(1, 10000000) AS g", max_rows=1000)
    assert time.perf_counter() - t < 3
    assert r.row_count == 1000 and r.truncated is True and r.to_dict()["rows"][-1] == [1000]
    assert app.sql("pg", "SELECT * FROM items", max_rows=5).truncated is False


def test_mariadb_row_cap(app, my_db):
    app.connect("maria", my_db)
    t = time.perf_counter()
    r = app.sql("maria", "SELECT a.COLUMN_NAME FROM information_schema.COLUMNS a, information_schema.COLUMNS b",
                max_rows=1000)
    assert time.perf_counter() - t < 5
    assert r.row_count == 1000 and r.truncated is True


def _pg_sleepers(url) -> list:
    with pg_connect(url) as c:
        return c.execute("SELECT pid, state FROM pg_stat_activity WHERE query ILIKE '%pg_sleep(%' "
                         "AND state = 'active' AND pid <> pg_backend_pid()").fetchall()


def test_sec_16_postgres_timeout_cancels_backend(app, pg_db):
    app.connect("pg", pg_db)
    t = time.perf_counter()
    with pytest.raises(QueryTimeout) as info:
        app.sql("pg", "SELECT pg_sleep(5)", timeout=1, check=False)  # the guard refuses pg_sleep itself
    assert time.perf_counter() - t < 3
    assert "time limit" in str(info.value)
    assert _pg_sleepers(pg_db) == []
    assert app.sql("pg", "SELECT 1 AS x").to_dict()["rows"] == [[1]]


def test_sec_16_mariadb_timeout(app, my_db):
    app.connect("maria", my_db)
    t = time.perf_counter()
    with pytest.raises(QueryTimeout):
        app.sql("maria", "SELECT SLEEP(5)", timeout=1, check=False)
    assert time.perf_counter() - t < 3
    c = my_connect(my_db)
    with c.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(5)%'")
        assert cur.fetchone()[0] == 0
    c.close()
    assert app.sql("maria", "SELECT 1 AS x").to_dict()["rows"] == [[1]]


@pytest.mark.parametrize("name", ["pg", "maria"])
def test_ctrl_c_cancels_on_the_server(app, pg_db, my_db, name):
    app.connect(name, pg_db if name == "pg" else my_db)
    sleep = "SELECT pg_sleep(20)" if name == "pg" else "SELECT SLEEP(20)"
    app.sql(name, "SELECT 1")
    timer = threading.Timer(0.5, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    t = time.perf_counter()
    try:
        with pytest.raises(QueryCancelled):
            app.sql(name, sleep, timeout=30, check=False)
    finally:
        timer.cancel()
    assert time.perf_counter() - t < 5
    deadline = time.monotonic() + 5
    while True:  # the server stops the statement; the connection is usable again
        try:
            assert app.sql(name, "SELECT 3 AS x", timeout=5).to_dict()["rows"] == [[3]]
            break
        except SourceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    if name == "pg":
        assert _pg_sleepers(pg_db) == []


# -- SECURITY 13: the database itself refuses writes -------------------------------------------
PG_WRITES = ["DELETE FROM items", "INSERT INTO items VALUES (9, 'x', 1, now())", "UPDATE items SET name = 'x'",
             "CREATE TABLE t2 (a int)", "DROP TABLE items", "TRUNCATE items", "SELECT wipe()",
             "WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d",
             "SELECT set_config('transaction_read_only', 'off', false)"]


@pytest.mark.parametrize("sql", PG_WRITES)
def test_sec_13_postgres_refuses_writes(app, pg_db, sql):
    app.connect("pg", pg_db)
    with pytest.raises(SourceError):
        app.sql("pg", sql, check=False)
    assert pg_count(pg_db) == 5
    assert app.sql("pg", "SELECT count(*) FROM items").to_dict()["rows"] == [[5]]


def test_sec_13_postgres_read_only_cannot_be_switched_off_from_sql(app, pg_db):
    app.connect("pg", pg_db)
    with pytest.raises(SourceError, match="read-only transaction"):
        app.sql("pg", "SELECT wipe()", check=False)
    # a session-level flip in one query must not make the next query writable
    flipped = app.sql("pg", "SELECT set_config('default_transaction_read_only', 'off', false) AS v", check=False)
    assert flipped.to_dict()["rows"] == [["off"]]
    with pytest.raises(SourceError, match="read-only transaction"):
        app.sql("pg", "SELECT wipe()", check=False)
    assert pg_count(pg_db) == 5


MY_WRITES = ["DELETE FROM items", "INSERT INTO items VALUES (9, 'x', 1)", "UPDATE items SET name = 'x'",
             "CREATE TABLE t2 (a int)", "DROP TABLE items", "REPLACE INTO items VALUES (1, 'x', 1)",
             "SET SESSION TRANSACTION READ WRITE; DELETE FROM items",
             "SELECT 1; DELETE FROM items"]


@pytest.mark.parametrize("sql", MY_WRITES)
def test_sec_13_mariadb_refuses_writes(app, my_db, sql):
    app.connect("maria", my_db)
    with pytest.raises(SourceError):
        app.sql("maria", sql, check=False)
    assert my_count(my_db) == 5


def test_sec_13_mariadb_read_only_cannot_be_switched_off_from_sql(app, my_db):
    app.connect("maria", my_db)
    app.sql("maria", "SET SESSION TRANSACTION READ WRITE", check=False)
    with pytest.raises(SourceError, match="READ ONLY"):
        app.sql("maria", "DELETE FROM items", check=False)
    assert my_count(my_db) == 5


def test_sec_13_options_override_refused_by_policy(app, pg_db):
    for param in ("options=-c%20default_transaction_read_only%3Doff", "options=-cdefault_transaction_read_only=off"):
        with pytest.raises(PolicyViolation, match="options"):
            app.connect("pg", f"{pg_db}?{param}")
    assert app.list_connections() == []


def test_database_name_cannot_smuggle_connection_keywords(app, pg_db):
    """libpq must see the database name as a name, not as ``key=value`` pairs."""
    base = pg_db.rsplit("/", 1)[0]
    with pytest.raises(SourceError, match="does not exist"):
        app.connect("pg", f"{base}/dbx%20options%3D-cdefault_transaction_read_only%3Doff")
    assert app.list_connections() == []


# -- team mode against a real server --------------------------------------------------------------
def test_team_mode_allowlisted_loopback_pins_address(tmp_path, pg_db):
    with make_app(tmp_path / "home", mode="team", secret_keys=(new_key(),), allowed_hosts=("127.0.0.1",)) as team:
        team.connect("pg", pg_db)
        assert team.sql("pg", "SELECT host(inet_server_addr()) AS a").to_dict()["rows"] == [["127.0.0.1"]]
    with make_app(tmp_path / "home2", mode="team", secret_keys=(new_key(),)) as team:
        with pytest.raises(PolicyViolation):
            team.connect("pg", pg_db)
        assert team.list_connections() == []


# -- health and usage -----------------------------------------------------------------------------
def test_health_after_pings_and_usage(app, pg_db, my_db):
    app.connect("pg", pg_db)
    app.connect("maria", my_db)
    for _ in range(6):
        assert app.connections.test("pg").ok
        assert app.connections.test("maria").ok
    for name in ("pg", "maria"):
        h = app.connections.info(name).health
        assert h.status == "active" and h.error_count == 0
        assert 0 < h.latency_p50_ms <= h.latency_p95_ms
        assert h.last_success_at is not None
    before = app.connections.info("pg").usage
    app.sql("pg", "SELECT * FROM items")
    app.sql("pg", "SELECT generate_series(1, 100) AS g")
    after = app.connections.info("pg").usage
    assert (after.queries, after.rows) == (before.queries + 2, before.rows + 105)
    assert after.bytes > before.bytes
