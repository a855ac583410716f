"""PostgreSQL's fast Arrow paths (ADBC, then COPY CSV) give the same values as the row path, on a real server.

Every test runs twice: with the ADBC driver, and with it unavailable (the COPY CSV path).
The DuckDB scanner in front of them (for results with numeric columns) is switched off
here; tests/test_pg_scanner.py covers it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from dataask_jupyter.connections import pg_adbc, pg_duckdb
from dataask_jupyter.connections.base import fetch_capped
from dataask_jupyter.connections.postgres import PostgresConnector
from tests.foundation_fixtures import (
    app_fixture,  # noqa: F401
    make_app,
    pg_connect,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True, params=["adbc", "copy"])
def path(request, monkeypatch):
    monkeypatch.setattr(pg_duckdb, "available", lambda: False)
    if request.param == "copy":
        monkeypatch.setattr(pg_adbc, "_driver", lambda: None)
    return request.param


@pytest.fixture
def typed_db(fresh_pg_db):
    with pg_connect(fresh_pg_db) as c:
        c.execute("""CREATE TABLE t (i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision,
                     n numeric(12, 3), nu numeric, txt text, vc varchar(20), ch char(3), b boolean,
                     d date, ts timestamp)""")
        c.execute("""INSERT INTO t VALUES
            (1, 2, 9007199254740993, 1.5, 2.25, 123456789.125, 1.5, 'plain', 'a,b', 'xy', true,
             '2024-02-29', '2024-01-01 10:11:12.345678'),
            (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (-1, -2, -3, -0.5, 1e300, -0.001, 12345678901234567890.12345, '', 'quote "q"', 'z', false,
             '1970-01-01', '1999-12-31 23:59:59'),
            (0, 0, 0, 0, 0, 0, 0, E'line1\\nline2, "x"', '', '', NULL, '2000-01-01', '2000-01-01 00:00:00')""")
        c.execute("CREATE SEQUENCE seq")
        c.execute("CREATE TABLE odd (id int, d date, u uuid)")
        c.execute("INSERT INTO odd VALUES (1, 'infinity', NULL), (2, '2024-01-01', gen_random_uuid())")
    return fresh_pg_db


def _row_path(url, sql, cap=1000):
    with psycopg.connect(url) as con:
        cur = con.cursor()
        cur.execute(sql)
        return fetch_capped(cur, cap)


def _normal(value):
    if isinstance(value, decimal.Decimal):
        return value.normalize()
    return value


def test_copy_path_matches_row_path_for_every_plain_type(app, typed_db):
    app.connect("pg", typed_db)
    sql = "SELECT * FROM t ORDER BY i4 NULLS LAST, txt"
    fast = app.sql("pg", sql).table
    slow = _row_path(typed_db, sql).table
    assert fast.column_names == slow.column_names
    assert fast.num_rows == 4
    for name in fast.column_names:
        got = [_normal(v) for v in fast.column(name).to_pylist()]
        want = [_normal(v) for v in slow.column(name).to_pylist()]
        if name == "f4":  # float4 prints 6 digits; the row path widens the binary value
            assert [g is None for g in got] == [w is None for w in want]
            assert [g for g in got if g is not None] == pytest.approx([w for w in want if w is not None], rel=1e-6)
            continue
        assert got == want, name
    # no inference: the declared types come through
    assert fast.schema.field("n").type == pa.decimal128(12, 3)
    assert fast.schema.field("i8").type == pa.int64()
    assert fast.schema.field("ts").type == pa.timestamp("us")
    assert fast.column("i8").to_pylist()[2] == 9007199254740993  # exact, not via float
    # rows by i4: -2, 0, 2, NULL
    assert fast.column("txt").to_pylist() == ["", 'line1\nline2, "x"', "plain", None]  # '' is not NULL
    assert fast.column("d").to_pylist()[2] == dt.date(2024, 2, 29)


def test_copy_path_caps_rows_and_keeps_duplicate_names(app, typed_db):
    app.connect("pg", typed_db)
    capped = app.sql("pg", "SELECT i4 AS x, i8 AS x FROM t ORDER BY i4 NULLS LAST", max_rows=2)
    assert capped.truncated is True
    assert capped.table.num_rows == 2
    assert capped.table.column_names == ["x", "x"]
    assert capped.table.column(1).to_pylist() == [-3, 0]


def test_aggregates_without_typmod_are_exact(app, typed_db):
    app.connect("pg", typed_db)
    table = app.sql("pg", "SELECT sum(n) AS s, avg(i4) AS a FROM t").table
    assert table.column("s").to_pylist() == [decimal.Decimal("123456789.124")]
    assert pa.types.is_decimal(table.schema.field("s").type)
    assert float(table.column("a").to_pylist()[0]) == pytest.approx(-0 / 3 + 0)


def test_values_arrow_cannot_hold_are_shown_as_text(app, typed_db):
    app.connect("pg", typed_db)
    dates = app.sql("pg", "SELECT id, d FROM odd ORDER BY id").table  # COPY path
    assert dates.column("id").to_pylist() == [1, 2]
    assert dates.column("d").to_pylist() == ["infinity", "2024-01-01"]  # no Arrow date is infinite
    assert app.sql("pg", "SELECT d FROM odd WHERE id = 2").table.column(0).to_pylist() == [dt.date(2024, 1, 1)]
    uuids = app.sql("pg", "SELECT id, u FROM odd ORDER BY id").table  # row path (uuid)
    assert len(str(uuids.column("u").to_pylist()[1])) == 36


def test_statements_the_wrapper_does_not_fit_still_run(app, typed_db):
    app.connect("pg", typed_db)
    assert app.sql("pg", "SELECT i4 FROM t WHERE i4 = 2 -- trailing comment").table.column(0).to_pylist() == [2]
    assert app.sql("pg", "SELECT i4 FROM t WHERE i4 = 2;").table.column(0).to_pylist() == [2]
    assert app.sql("pg", "WITH x AS (SELECT 5 AS v) SELECT v FROM x").table.column(0).to_pylist() == [5]


def test_copy_path_stays_read_only_and_within_the_timeout(app, typed_db):
    from dataask_jupyter.errors import DataAskError

    app.connect("pg", typed_db)
    with pytest.raises(DataAskError, match="read-only"):
        # a writing function behind a SELECT (guard off): the read-only transaction refuses it here too
        app.connections.execute("pg", "SELECT nextval('seq') AS v", check=False)
    with pg_connect(typed_db) as c:
        assert c.execute("SELECT last_value, is_called FROM seq").fetchone() == (1, False)
    with pytest.raises(DataAskError, match="(?i)timeout|cancel"):
        app.connections.execute("pg", "SELECT pg_sleep(3) AS s, 1 AS x", check=False, timeout=0.5)
    assert app.sql("pg", "SELECT count(*) AS n FROM t").table.column(0).to_pylist() == [4]


def test_the_fast_path_is_taken_not_a_silent_fallback(typed_db, monkeypatch, path):
    calls = []
    adbc_fetch, copy_fetch = pg_adbc.fetch, PostgresConnector._copy_fetch

    def spy_adbc(extra, sql, max_rows, timeout):
        result = adbc_fetch(extra, sql, max_rows, timeout)
        calls.append(("adbc", sql, result is not None))
        return result

    def spy_copy(raw, sql, max_rows):
        result = copy_fetch(raw, sql, max_rows)
        calls.append(("copy", sql, result is not None))
        return result

    monkeypatch.setattr(pg_adbc, "fetch", spy_adbc)
    monkeypatch.setattr(PostgresConnector, "_copy_fetch", staticmethod(spy_copy))
    with tempfile.TemporaryDirectory() as home, make_app(Path(home)) as app:
        app.connect("pg", typed_db)
        app.sql("pg", "SELECT i4, n, txt FROM t")
        app.sql("pg", "SELECT u FROM odd")
    taken = [(kind, ok) for kind, sql, ok in calls if "FROM t" in sql or "FROM odd" in sql]
    if path == "adbc":
        assert taken == [("adbc", True), ("adbc", True)]  # ADBC carries uuid too (as text)
    else:  # no ADBC: COPY for plain types, rows for uuid
        assert taken == [("adbc", False), ("copy", True), ("adbc", False), ("copy", False)]
