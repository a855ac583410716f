"""The test-server plugin (tests/services.py) against the real servers it provides."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from tests.services import (
    INTEGRATION_FIXTURES,
    ServerLog,
    fresh_postgres_database,
    in_ci,
    mysql_connect_args,
    unavailable,
    with_database,
)

integration = pytest.mark.integration


def _pg_scalar(url: str, query: str) -> object:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _mysql_scalar(url: str, query: str) -> object:
    import pymysql

    conn = pymysql.connect(**mysql_connect_args(url))
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None
    return row[0]


# ------------------------------------------------------------------------- PostgreSQL
@integration
def test_postgres_answers_select_one(pg_url: str) -> None:
    assert _pg_scalar(pg_url, "SELECT 1") == 1
    assert _pg_scalar(pg_url, "SELECT current_database()") == "dataask_test"
    assert urlsplit(pg_url).hostname == "127.0.0.1"


@integration
def test_postgres_checks_the_password(pg_url: str) -> None:
    import psycopg

    wrong = pg_url.replace(":dataask-test-pw@", ":not-the-password@")
    assert wrong != pg_url
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)


@integration
def test_postgres_outage_then_recovery(pg_server) -> None:
    import psycopg

    assert _pg_scalar(pg_server.url, "SELECT 1") == 1
    pg_server.stop()
    assert not pg_server.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg_server.url, connect_timeout=5)
    pg_server.start()
    assert pg_server.is_running()
    assert _pg_scalar(pg_server.url, "SELECT 1") == 1


@integration
def test_postgres_left_stopped_is_restarted_after_the_test(pg_server) -> None:
    # The plugin restarts it after this test; the next test checks that.
    pg_server.stop()


@integration
def test_postgres_is_back_after_a_test_left_it_stopped(pg_server) -> None:
    assert pg_server.is_running()
    assert _pg_scalar(pg_server.url, "SELECT 1") == 1


@integration
def test_postgres_log_records_each_statement(pg_url: str, pg_log_path, pg_log: ServerLog) -> None:
    marker = f"dataask-marker-{uuid.uuid4().hex}"
    never = f"dataask-never-{uuid.uuid4().hex}"
    assert _pg_scalar(pg_url, f"SELECT 1 /* {marker} */") == 1
    text = pg_log.wait_for(marker)
    assert f"statement: SELECT 1 /* {marker} */" in text
    assert never not in pg_log_path.read_text(errors="replace")


@integration
def test_fresh_pg_db_is_empty_and_separate(fresh_pg_db: str, pg_url: str) -> None:
    name = urlsplit(fresh_pg_db).path.lstrip("/")
    assert name.startswith("dataask_test_") and name != "dataask_test"
    assert _pg_scalar(fresh_pg_db, "SELECT current_database()") == name
    assert (
        _pg_scalar(fresh_pg_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    )


@integration
def test_fresh_postgres_database_is_dropped_on_exit(pg_url: str) -> None:
    with fresh_postgres_database(pg_url) as url:
        name = urlsplit(url).path.lstrip("/")
        assert _pg_scalar(pg_url, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == 1
    assert _pg_scalar(pg_url, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == 0


# ---------------------------------------------------------------------------- MariaDB
@integration
def test_mariadb_version_says_mariadb(mysql_url: str) -> None:
    assert "MariaDB" in str(_mysql_scalar(mysql_url, "SELECT VERSION()"))
    assert _mysql_scalar(mysql_url, "SELECT DATABASE()") == "dataask_test"


@integration
def test_mariadb_checks_the_password(mysql_url: str) -> None:
    import pymysql

    args = mysql_connect_args(mysql_url)
    args["password"] = "not-the-password"
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        pymysql.connect(**args)


@integration
def test_mariadb_general_log_records_each_statement(mysql_url: str, mysql_log: ServerLog) -> None:
    marker = f"dataask-marker-{uuid.uuid4().hex}"
    assert _mysql_scalar(mysql_url, f"SELECT 1 /* {marker} */") == 1
    assert f"SELECT 1 /* {marker} */" in mysql_log.wait_for(marker)


@integration
def test_fresh_mysql_db_is_empty_and_writable(fresh_mysql_db: str) -> None:
    import pymysql

    name = urlsplit(fresh_mysql_db).path.lstrip("/")
    assert name.startswith("dataask_test_")
    conn = pymysql.connect(**mysql_connect_args(fresh_mysql_db))
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            assert cur.fetchall() == ()
            cur.execute("CREATE TABLE t (x INT)")
            cur.execute("INSERT INTO t VALUES (1), (2)")
            cur.execute("SELECT SUM(x) FROM t")
            assert cur.fetchone() == (3,)
    finally:
        conn.close()


# ------------------------------------------------------------------------------ Redis
@integration
def test_redis_ping_and_round_trip(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        assert client.ping() is True
        key = f"dataask-test:{uuid.uuid4().hex}"
        client.set(key, b"value", ex=60)
        assert client.get(key) == b"value"
        client.delete(key)
    finally:
        client.close()


# ---------------------------------------------------- plugin logic (no servers needed)
def test_in_ci_reads_the_ci_variable() -> None:
    assert in_ci({"CI": "true"})
    assert in_ci({"CI": "1"})
    assert not in_ci({})
    assert not in_ci({"CI": ""})
    assert not in_ci({"CI": "false"})


def test_missing_server_fails_in_ci_and_skips_locally() -> None:
    with pytest.raises(pytest.fail.Exception, match="apt-get install postgresql"):
        unavailable("postgres missing (apt-get install postgresql)", ci=True)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        unavailable("postgres missing (apt-get install postgresql)", ci=False)


def test_with_database_keeps_credentials_and_query() -> None:
    url = "postgresql://u:p%40w@127.0.0.1:55432/dataask_test?sslmode=disable"
    assert (
        with_database(url, "other") == "postgresql://u:p%40w@127.0.0.1:55432/other?sslmode=disable"
    )


def test_mysql_connect_args_decode_the_url() -> None:
    args = mysql_connect_args("mysql://dataask:p%40ss@127.0.0.1:53306/dataask_test")
    assert args["user"] == "dataask"
    assert args["password"] == "p@ss"
    assert args["port"] == 53306
    assert args["database"] == "dataask_test"


def test_server_fixtures_mark_tests_integration(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("integration") is None
    assert {"pg_url", "mysql_url", "redis_url", "pg_server", "fresh_pg_db"} <= INTEGRATION_FIXTURES
