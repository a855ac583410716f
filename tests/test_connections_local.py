"""Connections to real SQLite and DuckDB files; BigQuery/Snowflake compile-only (not live)."""

from __future__ import annotations

import signal
import threading
import time

import ibis
import pytest

from dataask_jupyter.connections import ConnectionList
from dataask_jupyter.connections.bigquery import BigQueryConnector
from dataask_jupyter.connections.policy import check_url
from dataask_jupyter.connections.registry import CONNECTORS
from dataask_jupyter.connections.snowflake import SnowflakeConnector
from dataask_jupyter.connections.url import parse_connection_url
from dataask_jupyter.errors import (
    ConnectionNotFound,
    PolicyViolation,
    QueryCancelled,
    QueryTimeout,
    SourceError,
    UnsafeSQL,
    UsageError,
)
from tests.foundation_fixtures import (  # noqa: F401
    app_fixture,
    duckdb_file,
    make_app,
    make_settings,
    sources_fixture,
    sqlite_count,
    sqlite_file,
)

SLOW_SQLITE = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000000) "
               "SELECT count(*) FROM r")
SLOW_DUCKDB = "SELECT count(*) FROM range(3000000000) a WHERE hash(a.range) % 7 = 3"


# -- add / tables / columns / execute -------------------------------------------------------------
def test_add_tables_columns_execute(app, sources):
    assert app.connections.tables("lite") == ["items"]
    assert app.connections.tables("duck") == ["events"]
    assert app.connections.columns("lite", "items") == {"id": "int64", "name": "string", "price": "float64"}
    assert app.connections.columns("duck", "events") == {"id": "int64", "kind": "string"}
    r = app.sql("lite", "SELECT id, name FROM items WHERE price >= 3 ORDER BY id")
    assert r.columns == ["id", "name"] and r.to_dict()["rows"] == [[2, "item2"], [3, "item3"], [4, "item4"],
                                                                   [5, "item5"]]
    assert r.truncated is False and r.row_count == 4
    d = app.sql("duck", "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind")
    assert d.to_dict()["rows"] == [["k0", 1], ["k1", 2], ["k2", 2]]
    assert list(d.to_pandas()["n"]) == [1, 2, 2]


def test_info_and_list_shapes(app, sources):
    infos = app.list_connections()
    assert isinstance(infos, ConnectionList) and [c.name for c in infos] == ["duck", "lite"]
    d = infos.to_dict()[1]
    assert d["family"] == "sqlite" and d["dialect"] == "sqlite" and d["workspace"] == "default"
    assert d["url"] == f"sqlite:///{sources['lite']}"
    assert d["health"]["status"] == "active" and d["health"]["latency_p50_ms"] is not None
    bundle = infos._repr_mimebundle_()
    assert "dataask-badge dataask-active" in bundle["text/html"] and "lite" in bundle["text/plain"]
    assert ConnectionList()._repr_mimebundle_()["text/plain"].startswith("No connections yet")


def test_add_missing_file_saves_nothing(app, tmp_path):
    with pytest.raises(SourceError, match="does not exist") as info:
        app.connect("gone", f"sqlite:///{tmp_path / 'nope.sqlite'}")
    assert "Nothing was saved" in str(info.value) or app.list_connections() == []
    assert app.list_connections() == []
    assert not (tmp_path / "nope.sqlite").exists()  # mode=ro never creates the file
    with pytest.raises(SourceError):
        app.connect("gone", f"duckdb:///{tmp_path / 'nope.duckdb'}")
    assert not (tmp_path / "nope.duckdb").exists()


@pytest.mark.parametrize("name", ["bad-name", "1abc", "", "a b", "x" * 64, "ü"])
def test_invalid_names(app, tmp_path, name):
    lite = sqlite_file(tmp_path / "x.sqlite")
    with pytest.raises(UsageError, match="not a valid connection name"):
        app.connect(name, f"sqlite:///{lite}")


def test_duplicate_name_needs_replace(app, sources, tmp_path):
    other = sqlite_file(tmp_path / "other.sqlite", rows=2)
    with pytest.raises(ValueError, match="already exists"):
        app.connect("lite", f"sqlite:///{other}")
    app.connect("lite", f"sqlite:///{other}", replace=True)
    assert app.sql("lite", "SELECT count(*) AS n FROM items").to_dict()["rows"] == [[2]]


def test_unknown_name_did_you_mean(app, sources):
    with pytest.raises(ConnectionNotFound) as info:
        app.sql("lit", "SELECT 1")
    assert "Did you mean 'lite'?" in str(info.value)
    with pytest.raises(ConnectionNotFound) as info:
        app.connections.tables("warehouse")
    assert "dataask connection add warehouse URL" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_workspaces_keep_connections_apart(app, sources, tmp_path):
    app.repo.ensure_workspace("team2")
    other = sqlite_file(tmp_path / "t2.sqlite", rows=1)
    app.connect("lite", f"sqlite:///{other}", workspace="team2")
    assert app.sql("lite", "SELECT count(*) FROM items").to_dict()["rows"] == [[5]]
    assert app.sql("lite", "SELECT count(*) FROM items", workspace="team2").to_dict()["rows"] == [[1]]
    app.connections.remove("lite", "team2")
    assert app.sql("lite", "SELECT count(*) FROM items").to_dict()["rows"] == [[5]]


# -- pool -----------------------------------------------------------------------------------------
def test_pool_reuses_one_backend_per_connection(app, sources, tmp_path):
    first = app.connections.backend("lite")
    app.sql("lite", "SELECT 1")
    assert app.connections.backend("lite") is first
    assert app.connections.backend("duck") is not first
    time.sleep(1.1)  # past the idle pre-ping threshold: pinged, still the same object
    app.sql("lite", "SELECT 1")
    assert app.connections.backend("lite") is first
    app.connect("lite", f"sqlite:///{sqlite_file(tmp_path / 'new.sqlite', rows=1)}", replace=True)
    assert app.connections.backend("lite") is not first  # replaced: reopened


def test_same_duckdb_file_under_two_names_and_replace_while_open(app, sources):
    """DuckDB shares one database instance per file in a process, configuration lock included."""
    assert app.sql("duck", "SELECT count(*) FROM events").to_dict()["rows"] == [[5]]  # open and locked
    app.connect("duck_again", f"duckdb:///{sources['duck']}")
    assert app.sql("duck_again", "SELECT count(*) FROM events").to_dict()["rows"] == [[5]]
    app.connect("duck", f"duckdb:///{sources['duck']}", replace=True)  # probe while the old one is open
    assert app.sql("duck", "SELECT count(*) FROM events").to_dict()["rows"] == [[5]]
    with pytest.raises(SourceError, match="locked"):  # still read-only and locked on every name
        app.sql("duck_again", "SET enable_external_access = true", check=False)


@pytest.mark.parametrize("name", ["lite", "duck"])
def test_first_use_from_many_threads_opens_once(app, sources, name, monkeypatch):
    connector = app.connections._entry(app.connections.record(name)).connector
    app.connections._drop((app.repo.get_workspace("default").id, name))
    opens = []
    real_open = type(connector).open

    def counting_open(self, *a, **kw):
        opens.append(1)
        time.sleep(0.2)  # widen the window in which other threads also find no backend
        return real_open(self, *a, **kw)

    monkeypatch.setattr(type(connector), "open", counting_open)
    table = "items" if name == "lite" else "events"
    errors = []

    def go():
        try:
            assert app.sql(name, f"SELECT count(*) FROM {table}").to_dict()["rows"] == [[5]]
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(opens) == 1


def test_remove_closes_and_forgets(app, sources):
    raw = app.connections._entry(app.connections.record("lite")).opened.raw
    app.connections.remove("lite")
    assert [c.name for c in app.list_connections()] == ["duck"]
    with pytest.raises(Exception, match="closed"):
        raw.execute("SELECT 1")
    with pytest.raises(ConnectionNotFound):
        app.sql("lite", "SELECT 1")


# -- caps, timeouts, cancel ---------------------------------------------------------------------
def test_row_cap_and_truncated_flag(app, sources):
    t = time.perf_counter()
    r = app.sql("duck", "SELECT * FROM range(10000000)", max_rows=1000)
    assert r.row_count == 1000 and r.truncated is True
    s = app.sql("lite", "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 10000000) "
                       "SELECT i FROM r", max_rows=1000)
    assert s.row_count == 1000 and s.truncated is True and s.to_dict()["rows"][-1] == [1000]
    assert time.perf_counter() - t < 5
    exact = app.sql("lite", "SELECT * FROM items", max_rows=5)
    assert exact.row_count == 5 and exact.truncated is False


def test_default_row_cap_comes_from_settings(tmp_path):
    with make_app(tmp_path / "home", max_rows=50) as a:
        a.connect("duck", f"duckdb:///{duckdb_file(tmp_path / 'e.duckdb')}")
        r = a.sql("duck", "SELECT * FROM range(1000)")
        assert r.row_count == 50 and r.truncated
        assert a.sql("duck", "SELECT * FROM range(50)").truncated is False


@pytest.mark.parametrize(("name", "sql"), [("lite", SLOW_SQLITE), ("duck", SLOW_DUCKDB)])
def test_timeout_interrupts_and_connection_stays_usable(app, sources, name, sql):
    t = time.perf_counter()
    with pytest.raises(QueryTimeout) as info:
        app.sql(name, sql, timeout=0.5)
    assert time.perf_counter() - t < 3
    assert info.value.http_status == 504 and f"'{name}'" in str(info.value)
    assert app.sql(name, "SELECT 42 AS x").to_dict()["rows"] == [[42]]
    health = app.connections.info(name).health
    assert health.error_count >= 1 and health.last_error


@pytest.mark.parametrize(("name", "sql"), [("lite", SLOW_SQLITE), ("duck", SLOW_DUCKDB)])
def test_ctrl_c_cancels_the_query(app, sources, name, sql):
    app.sql(name, "SELECT 1")  # open first, so the interrupt lands during the query
    # what a kernel interrupt does: SIGINT to the main thread while it waits for the result
    timer = threading.Timer(0.4, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    t = time.perf_counter()
    try:
        with pytest.raises(QueryCancelled):
            app.sql(name, sql, timeout=20)
    finally:
        timer.cancel()
    assert time.perf_counter() - t < 5
    deadline = time.monotonic() + 5  # the worker finishes cancelling; then the connection is free
    while True:
        try:
            assert app.sql(name, "SELECT 7 AS x", timeout=5).to_dict()["rows"] == [[7]]
            break
        except SourceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# -- read-only sessions (SECURITY 13) -----------------------------------------------------------
WRITES = {
    "lite": ["DELETE FROM items", "INSERT INTO items VALUES (99, 'x', 1)", "UPDATE items SET name = 'x'",
             "CREATE TABLE t2 (a int)", "DROP TABLE items", "PRAGMA query_only = OFF", "PRAGMA writable_schema = ON",
             "ATTACH DATABASE '{home}/dataask.db' AS meta", "ATTACH DATABASE 'file:{tmp}/new.db?mode=rwc' AS n",
             "VACUUM INTO '{tmp}/copy.db'", "SELECT load_extension('mod_spatialite')"],
    "duck": ["DELETE FROM events", "INSERT INTO events VALUES (99, 'x')", "UPDATE events SET kind = 'x'",
             "CREATE TABLE t2 (a int)", "DROP TABLE events", "SET lock_configuration = false",
             "SET enable_external_access = true"],
}


@pytest.mark.parametrize(("name", "sql"), [(n, q) for n, qs in WRITES.items() for q in qs])
def test_sec_13_database_itself_refuses_writes(app, sources, tmp_path, name, sql):
    sql = sql.format(home=app.settings.home, tmp=tmp_path)
    with pytest.raises(SourceError):
        app.sql(name, sql, check=False)
    if name == "lite":
        assert sqlite_count(sources["lite"], "items") == 5
        assert app.sql("lite", "SELECT count(*) FROM items").to_dict()["rows"] == [[5]]
    else:
        assert app.sql("duck", "SELECT count(*) FROM events").to_dict()["rows"] == [[5]]
    assert not (tmp_path / "new.db").exists() and not (tmp_path / "copy.db").exists()


def test_sec_13_read_only_survives_a_flip_attempt(app, sources):
    for attempt in ("PRAGMA query_only = 0", "PRAGMA query_only=false"):
        with pytest.raises(SourceError):
            app.sql("lite", attempt, check=False)
    with pytest.raises(SourceError):
        app.sql("lite", "DELETE FROM items", check=False)
    assert sqlite_count(sources["lite"], "items") == 5


def test_guard_refuses_before_the_database(app, sources):
    with pytest.raises(UnsafeSQL):
        app.sql("lite", "DELETE FROM items")
    assert app.connections.info("lite").usage.errors == 0  # never reached the source


def test_team_mode_duckdb_has_no_external_access(tmp_path):
    duck = duckdb_file(tmp_path / "shared" / "e.duckdb")
    with make_app(tmp_path / "home", mode="team", secret_keys=(_key(),), allowed_hosts=(str(tmp_path / "shared"),)) as a:
        a.connect("duck", f"duckdb:///{duck}")
        assert a.sql("duck", "SELECT count(*) FROM events").to_dict()["rows"] == [[5]]
        for sql in ("SELECT * FROM read_csv('/etc/passwd')", f"SELECT * FROM '{a.settings.home}/dataask.db'",
                    f"ATTACH '{a.settings.home}/dataask.db' AS meta", "COPY (SELECT 1) TO '/tmp/dataask-x.csv'"):
            with pytest.raises(SourceError):
                a.sql("duck", sql, check=False)


def _key():
    from tests.foundation_fixtures import new_key

    return new_key()


# -- health and usage -----------------------------------------------------------------------------
def test_usage_counts_grow(app, sources):
    before = app.connections.info("duck").usage
    app.sql("duck", "SELECT * FROM events")
    app.sql("duck", "SELECT * FROM range(100)")
    after = app.connections.info("duck").usage
    assert after.queries == before.queries + 2
    assert after.rows == before.rows + 105
    assert after.bytes > before.bytes


def test_test_records_latency(app, sources):
    for _ in range(5):
        result = app.connections.test("lite")
        assert result.ok and result.latency_ms is not None
    h = app.connections.info("lite").health
    assert h.status == "active" and h.latency_p50_ms is not None and h.latency_p95_ms >= h.latency_p50_ms
    assert h.last_success_at is not None


def test_many_local_connections_in_parallel(app, tmp_path):
    for i in range(6):
        app.connect(f"lite{i}", f"sqlite:///{sqlite_file(tmp_path / f'l{i}.sqlite', rows=i + 1)}")
        app.connect(f"duck{i}", f"duckdb:///{duckdb_file(tmp_path / f'd{i}.duckdb', rows=i + 1)}")
    errors, results = [], {}

    def worker(name, table, expected):
        try:
            for _ in range(10):
                n = app.sql(name, f"SELECT count(*) FROM {table}").to_dict()["rows"][0][0]
                assert n == expected
            results[name] = True
        except Exception as exc:  # noqa: BLE001
            errors.append((name, exc))

    threads = [threading.Thread(target=worker, args=(f"{k}{i}", t, i + 1))
               for i in range(6) for k, t in (("lite", "items"), ("duck", "events"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 12
    assert all(c.usage.queries == 10 for c in app.list_connections())


# -- BigQuery and Snowflake: declared, compile-tested, not live ---------------------------------
@pytest.mark.not_live(reason="no network and no BigQuery/Snowflake account on this machine")
def test_not_live_connectors_are_declared():
    assert CONNECTORS["bigquery"].live_tested is False and CONNECTORS["snowflake"].live_tested is False
    assert all(CONNECTORS[f].live_tested for f in ("sqlite", "duckdb", "postgres", "mysql"))


@pytest.mark.not_live(reason="BigQuery")
def test_bigquery_url_and_connect_args(tmp_path):
    parsed = parse_connection_url("bigquery://my-project/analytics?location=EU")
    assert parsed.family == "bigquery" and parsed.host == "my-project" and parsed.database == "analytics"
    settings = make_settings(tmp_path)
    assert check_url(parsed, settings) is None
    sa_json = '{"type": "service_account", "project_id": "my-project"}'
    args = BigQueryConnector().connect_args(parsed, None, settings, sa_json)
    assert args == {"project_id": "my-project", "dataset_id": "analytics", "location": "EU",
                    "credentials_info": {"type": "service_account", "project_id": "my-project"}}
    with pytest.raises(UsageError, match="service-account JSON"):
        BigQueryConnector().connect_args(parsed, None, settings, "not json")
    with pytest.raises(UsageError, match="needs a project"):
        BigQueryConnector().connect_args(parse_connection_url("bigquery:///ds"), None, settings, None)
    with pytest.raises(PolicyViolation):
        check_url(parse_connection_url("bigquery://p/d?credentials_path=/etc/key.json"), settings)


@pytest.mark.not_live(reason="Snowflake")
def test_snowflake_url_and_connect_args(tmp_path):
    parsed = parse_connection_url("snowflake://alice:pw@xy12345.eu-west-1/SALES/PUBLIC?warehouse=WH&role=ANALYST")
    assert parsed.family == "snowflake" and parsed.password == "pw"
    settings = make_settings(tmp_path, connect_timeout=7)
    assert check_url(parsed, settings) is None
    args = SnowflakeConnector().connect_args(parsed, None, settings, "pw")
    assert args == {"user": "alice", "account": "xy12345.eu-west-1", "database": "SALES/PUBLIC", "password": "pw",
                    "login_timeout": 7, "warehouse": "WH", "role": "ANALYST"}
    with pytest.raises(UsageError, match="needs a user and an account"):
        SnowflakeConnector().connect_args(parse_connection_url("snowflake://acct/db"), None, settings, None)
    with pytest.raises(PolicyViolation):
        check_url(parse_connection_url("snowflake://u@acct/db?authenticator=externalbrowser"), settings)


@pytest.mark.not_live(reason="drivers not installed")
@pytest.mark.parametrize(("url", "what"), [("bigquery://p/d", "BigQuery"), ("snowflake://u:pw@acct/db/sch", "Snowflake")])
def test_missing_driver_is_a_clear_error(app, url, what):
    with pytest.raises(SourceError, match=f"{what} support is not installed") as info:
        app.connect("cloud", url)
    assert "pip install" in str(info.value)
    assert app.list_connections() == []


def _orders():
    t = ibis.table({"id": "int64", "region": "string", "amount": "decimal(12, 2)", "ordered_at": "timestamp"},
                   name="orders")
    return (t.filter(t.ordered_at >= ibis.timestamp("2024-01-01 00:00:00"))
            .group_by("region").agg(n=t.id.count(), total=t.amount.sum()).order_by(ibis.desc("total")).limit(5))


@pytest.mark.not_live(reason="BigQuery")
def test_bigquery_compiles():
    sql = ibis.to_sql(_orders(), dialect=BigQueryConnector.dialect)
    assert "`orders`" in sql and "LIMIT 5" in sql and "SUM(" in sql and '"' not in sql


@pytest.mark.not_live(reason="Snowflake")
def test_snowflake_compiles():
    sql = ibis.to_sql(_orders(), dialect=SnowflakeConnector.dialect)
    assert '"orders"' in sql and "LIMIT 5" in sql and "`" not in sql


def test_not_live_compiles_need_no_driver():
    import sys

    _orders()
    ibis.to_sql(_orders(), dialect="bigquery")
    ibis.to_sql(_orders(), dialect="snowflake")
    assert not [m for m in sys.modules if m.startswith(("google.cloud.bigquery", "snowflake.connector"))]
