"""PostgreSQL results with numeric columns read through DuckDB's postgres scanner (connections/pg_duckdb.py).

On a real server: the scanner gives the values the row path gives, keeps duplicate names
and the row cap, hands anything it would get wrong (NaN, infinite dates, unconstrained
numeric) to the ADBC/COPY paths, stays read-only, and stops on a timeout or cancel.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import time

import psycopg
import psycopg.sql
import pyarrow as pa
import pytest

from dataask_jupyter.connections import pg_duckdb
from dataask_jupyter.errors import DataAskError
from tests.foundation_fixtures import (
    app_fixture,  # noqa: F401
    pg_connect,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def money_db(fresh_pg_db):
    with pg_connect(fresh_pg_db) as c:
        c.execute("""CREATE TABLE m (id int, price numeric(15, 2), qty numeric(12, 3), wide numeric(38, 10),
                     name text, code char(3), d date, ts timestamp, tz timestamptz, f float8, b boolean)""")
        c.execute("""INSERT INTO m VALUES
            (1, 1234567890123.45, -0.001, 1234567890123456789012345678.0123456789, 'a', 'xy', '2024-02-29',
             '2024-01-01 10:11:12.345678', '2024-05-06 07:08:09+02', 1.5, true),
            (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (3, -0.01, 0, -0.0000000001, 'quote "q", comma', 'z', '1970-01-01', '1999-12-31 23:59:59',
             '1999-12-31 23:59:59+00', -2.25, false)""")
        c.execute("CREATE TABLE odd (id int, price numeric(10, 2), d date, nu numeric)")
        c.execute("INSERT INTO odd VALUES (1, 'NaN', '2024-01-01', 1.5), (2, 2.5, 'infinity', 2.25)")
        c.execute("CREATE SEQUENCE seq")
    return fresh_pg_db


@pytest.fixture
def scanned(monkeypatch):
    """Which statements the scanner read (True), handed on (False) or stopped ("raised")."""
    calls: list[tuple[str, bool]] = []
    real = pg_duckdb.fetch

    def spy(extra, raw, sql, max_rows, timeout):
        try:
            result = real(extra, raw, sql, max_rows, timeout)
        except BaseException:
            calls.append((sql, "raised"))
            raise
        calls.append((sql, result is not None))
        return result

    monkeypatch.setattr(pg_duckdb, "fetch", spy)
    return calls


def _rows(url, sql):
    with psycopg.connect(url) as con:
        return con.execute(sql).fetchall()


def test_numeric_results_come_through_the_scanner_with_the_row_paths_values(app, money_db, scanned):
    app.connect("pg", money_db)
    sql = "SELECT * FROM m ORDER BY id"
    table = app.sql("pg", sql).table
    assert scanned == [(sql, True)]
    want = _rows(money_db, sql)
    got = [tuple(row.values()) for row in table.to_pylist()]
    for g, w in zip(got, want, strict=True):
        assert g[:8] == w[:8]  # ids, exact decimals, text, padded char, dates, timestamps
        assert g[8] == w[8]  # the same instant
        assert g[9:] == w[9:]
    assert table.schema.field("price").type == pa.decimal128(15, 2)
    assert table.schema.field("wide").type == pa.decimal128(38, 10)
    assert table.schema.field("tz").type == pa.timestamp("us", tz="UTC")
    assert table.column("wide").to_pylist()[0] == decimal.Decimal("1234567890123456789012345678.0123456789")


def test_duplicate_names_and_the_row_cap_survive(app, money_db, scanned):
    app.connect("pg", money_db)
    capped = app.sql("pg", "SELECT price AS x, qty AS x FROM m ORDER BY id", max_rows=2)
    assert scanned and scanned[-1][1] is True
    assert capped.truncated is True and capped.table.num_rows == 2
    assert capped.table.column_names == ["x", "x"]
    assert capped.table.column(0).to_pylist() == [decimal.Decimal("1234567890123.45"), None]


def test_what_the_scanner_would_get_wrong_goes_to_the_other_paths(app, money_db, scanned):
    app.connect("pg", money_db)
    nan = app.sql("pg", "SELECT id, price FROM odd ORDER BY id").table  # the scanner reads NaN as 0
    assert scanned[-1][1] is False
    assert str(nan.column("price").to_pylist()[0]).lower() == "nan"
    assert float(nan.column("price").to_pylist()[1]) == 2.5
    infinite = app.sql("pg", "SELECT id, price, d FROM odd WHERE id = 2").table
    assert scanned[-1][1] is False and infinite.column("d").to_pylist() == ["infinity"]
    endless = app.sql("pg", "SELECT price, '-infinity'::timestamp AS t FROM m WHERE id = 3").table
    assert scanned[-1][1] is False and str(endless.column("t").to_pylist()[0]) == "-infinity"
    loose = app.sql("pg", "SELECT sum(nu) AS s FROM odd").table  # unconstrained: the scanner says DOUBLE
    assert scanned[-1][1] is False
    assert loose.column("s").to_pylist() == [decimal.Decimal("3.75")]
    ints = app.sql("pg", "SELECT id FROM m").table  # nothing numeric: ADBC is as fast
    assert scanned[-1][1] is False and sorted(ints.column(0).to_pylist()) == [1, 2, 3]


def test_the_scanner_session_is_read_only(app, money_db, scanned):
    app.connect("pg", money_db)
    with pytest.raises(DataAskError, match="read-only"):
        app.connections.execute("pg", "SELECT price, nextval('seq') AS v FROM m", check=False)
    with pg_connect(money_db) as c:
        assert c.execute("SELECT last_value, is_called FROM seq").fetchone() == (1, False)


def _active(url, marker: str) -> int:
    with pg_connect(url) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s "
                         "AND pid <> pg_backend_pid()", [f"%{marker}%"]).fetchone()[0]


def test_a_timeout_stops_the_scanners_statement_on_the_server(app, money_db, scanned):
    app.connect("pg", money_db)
    t0 = time.monotonic()
    with pytest.raises(DataAskError, match="(?i)time limit|timeout"):
        app.connections.execute("pg", "SELECT price, pg_sleep(5)::text AS slow_scan FROM m", check=False, timeout=0.5)
    assert time.monotonic() - t0 < 4
    assert scanned[-1] == ("SELECT price, pg_sleep(5)::text AS slow_scan FROM m", "raised")  # stopped, not retried
    time.sleep(0.2)
    assert _active(money_db, "slow_scan") == 0
    assert app.sql("pg", "SELECT price FROM m WHERE id = 3").table.column(0).to_pylist() == [decimal.Decimal("-0.01")]


def test_cancel_stops_the_scanners_statement_on_the_server(app, money_db):
    app.connect("pg", money_db)
    errors: list[BaseException] = []

    def run():
        try:
            app.connections.execute("pg", "SELECT price, pg_sleep(20)::text AS cancel_me FROM m", check=False)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while _active(money_db, "cancel_me") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    app.connections.cancel("pg")
    worker.join(10)
    assert not worker.is_alive() and errors and time.monotonic() - t0 < 5
    assert _active(money_db, "cancel_me") == 0


def test_a_scanner_that_cannot_start_leaves_the_fetch_to_adbc(app, money_db, scanned, monkeypatch):
    def broken(extra):
        raise RuntimeError("cannot load the extension")

    monkeypatch.setattr(pg_duckdb, "_open", broken)
    app.connect("pg", money_db)
    table = app.sql("pg", "SELECT price FROM m ORDER BY id").table
    assert scanned[-1][1] is False
    assert table.column(0).to_pylist() == [decimal.Decimal("1234567890123.45"), None, decimal.Decimal("-0.01")]


def test_a_refused_login_names_no_password(money_db):
    import urllib.parse as up

    parts = up.urlsplit(money_db)
    secret = "not-the-password-7f3a"
    extra = {"pg_args": {"host": parts.hostname, "port": parts.port, "user": parts.username,
                         "password": secret, "dbname": parts.path.lstrip("/")}}
    with pytest.raises(Exception) as caught:
        pg_duckdb._open(extra)
    assert "password authentication failed" in str(caught.value)
    assert secret not in str(caught.value)


def test_dates_before_arrows_epoch_and_leap_days_are_exact(app, money_db):
    app.connect("pg", money_db)
    table = app.sql("pg", "SELECT d, price FROM m WHERE d IS NOT NULL ORDER BY id").table
    assert table.column("d").to_pylist() == [dt.date(2024, 2, 29), dt.date(1970, 1, 1)]


def test_the_scanner_connects_where_the_other_sessions_do_with_their_options(app, money_db, scanned, monkeypatch):
    app.connect("pg", money_db.replace("@127.0.0.1:", "@localhost:"))  # a name the policy resolves
    sql = ("SELECT price, host(inet_server_addr()) AS addr, current_setting('default_transaction_read_only') AS ro, "
           "current_setting('statement_timeout') AS limit_, current_setting('application_name') AS app "
           "FROM m WHERE id = 3")
    # the guard refuses current_setting(); this statement only reads settings
    through_scanner = app.connections.execute("pg", sql, check=False).table.to_pylist()[0]
    assert scanned[-1][1] is True
    monkeypatch.setattr(pg_duckdb, "available", lambda: False)
    through_adbc = app.connections.execute("pg", sql, check=False).table.to_pylist()[0]
    assert through_scanner["addr"] == through_adbc["addr"]
    assert through_scanner["ro"] == "on"
    assert through_scanner["limit_"] == f"{int(app.connections.settings.query_timeout)}s"
    assert through_scanner["app"].startswith("dataask-scan-") and through_adbc["app"] == "dataask"


def test_a_password_with_quotes_and_backslashes_reaches_the_scanner_intact(app, money_db, scanned):
    import urllib.parse as up
    import uuid

    role, password = f"scan_{uuid.uuid4().hex[:8]}", "it's a \\\"pw\\\"; x='1'"
    with pg_connect(money_db) as c:
        c.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            psycopg.sql.Identifier(role), psycopg.sql.Literal(password)))
        c.execute(psycopg.sql.SQL("GRANT SELECT ON m TO {}").format(psycopg.sql.Identifier(role)))
    try:
        parts = up.urlsplit(money_db)
        url = f"postgresql://{role}:{up.quote(password, safe='')}@{parts.hostname}:{parts.port}{parts.path}"
        app.connect("pg_quoted", url)
        table = app.sql("pg_quoted", "SELECT price FROM m WHERE id = 1").table
        assert scanned[-1][1] is True
        assert table.column(0).to_pylist() == [decimal.Decimal("1234567890123.45")]
    finally:
        with pg_connect(money_db) as c:
            c.execute(psycopg.sql.SQL("DROP OWNED BY {}").format(psycopg.sql.Identifier(role)))
            c.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))


def test_the_scanner_writes_nothing_into_the_users_home(app, money_db, scanned, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # DuckDB's INSTALL would write ~/.duckdb/extensions
    app.connect("pg", money_db)
    assert app.sql("pg", "SELECT qty FROM m WHERE id = 3").table.column(0).to_pylist() == [decimal.Decimal("0.000")]
    assert scanned[-1][1] is True
    assert not (tmp_path / ".duckdb").exists()
