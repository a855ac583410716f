"""Fetches split into parts on parallel PostgreSQL sessions (federation/split.py).

Grouped fetches are cut into key ranges, plain reads of one table into row ranges. The
unit half checks which statements may be split and that the part queries give the same
rows as the whole statement (on DuckDB, NULL keys included). The live half runs on
a real PostgreSQL: the source splits only serial, costly plans on an integer column that
leads an index, the answer is unchanged, and a timeout or cancel stops every session.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time

import duckdb
import psycopg
import pytest

from dataask_jupyter.connections import pg_adbc, pg_split
from dataask_jupyter.errors import DataAskError
from dataask_jupyter.federation.split import fetch_split, key_split, scan_split
from tests.foundation_fixtures import (
    app_fixture,  # noqa: F401
    pg_connect,
)


# -- which statements can be split ------------------------------------------------------------
@pytest.mark.parametrize("sql, column", [
    ('SELECT "l"."k" FROM "t" AS "l" GROUP BY "l"."k" HAVING SUM("l"."v") > 3', "k"),
    ('SELECT a.g, b.k, count(*) FROM s.t AS a JOIN u AS b ON a.k = b.k GROUP BY a.g, b.k', "g"),
    ('SELECT a.k, count(DISTINCT a.v) FROM t AS a, u AS b WHERE a.k = b.k GROUP BY a.k', "k"),
    ('SELECT a.k, (SELECT max(x) FROM w ORDER BY 1 LIMIT 1) FROM t AS a GROUP BY a.k', "k"),
])
def test_grouped_statements_over_inner_joins_can_be_split(sql, column):
    split = key_split(sql, "postgres")
    assert split is not None and split.keys[0].column == column


def test_the_key_keeps_the_tables_schema():
    split = key_split('SELECT a.k FROM "sales"."t" AS a GROUP BY a.k', "postgres")
    assert (split.keys[0].schema, split.keys[0].table, split.keys[0].alias) == ("sales", "t", "a")


@pytest.mark.parametrize("sql", [
    "SELECT a.k, count(*) FROM t AS a GROUP BY a.k ORDER BY 2 DESC",  # order across groups
    "SELECT a.k, count(*) FROM t AS a GROUP BY a.k LIMIT 10",
    "SELECT a.k, count(*) FROM t AS a GROUP BY a.k OFFSET 2",
    "SELECT a.k, rank() OVER (ORDER BY count(*)) FROM t AS a GROUP BY a.k",
    "SELECT DISTINCT count(*) FROM t AS a GROUP BY a.k",
    "SELECT a.k, count(*) FROM t AS a GROUP BY ROLLUP (a.k)",
    "SELECT a.k, count(*) FROM t AS a LEFT JOIN u AS b ON a.k = b.k GROUP BY a.k",
    "SELECT b.k, count(*) FROM t AS a LEFT JOIN u AS b ON a.k = b.k GROUP BY b.k",
    "SELECT k, count(*) FROM t GROUP BY k",  # unqualified: not ours to guess
    "SELECT a.k FROM t AS a",  # no groups
    "SELECT a.k FROM t AS a GROUP BY a.k UNION SELECT 1",
    "WITH c AS (SELECT 1 AS k) SELECT c.k, count(*) FROM c AS c GROUP BY c.k",
    "SELECT s.k, count(*) FROM (SELECT k FROM t) AS s GROUP BY s.k",
    "SELECT lower(a.name), count(*) FROM t AS a GROUP BY lower(a.name)",
    "not sql at all (",
])
def test_statements_whose_groups_could_cross_ranges_are_not_split(sql):
    assert key_split(sql, "postgres") is None


# -- the ranges give the same rows ---------------------------------------------------------------
@pytest.fixture(scope="module")
def facts():
    con = duckdb.connect()
    rng = random.Random(7)
    rows = [(rng.choice([None] + list(range(-50, 500))), rng.randint(-5, 20), rng.choice("abc")) for _ in range(5000)]
    con.execute("CREATE TABLE t (k BIGINT, v INTEGER, tag VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    con.execute("CREATE TABLE u AS SELECT DISTINCT k, k % 7 AS g FROM t WHERE k IS NOT NULL")
    yield con
    con.close()


@pytest.mark.parametrize("sql", [
    'SELECT "a"."k", SUM("a"."v") AS s FROM "t" AS "a" GROUP BY "a"."k" HAVING SUM("a"."v") > 30',
    'SELECT "a"."k", "a"."tag", COUNT(DISTINCT "a"."v") AS n FROM "t" AS "a" '
    "WHERE \"a\".\"tag\" = 'a' OR \"a\".\"v\" > 10 GROUP BY \"a\".\"tag\", \"a\".\"k\"",
    'SELECT "b"."g", "a"."k", COUNT(*) AS n FROM "t" AS "a" JOIN "u" AS "b" ON "a"."k" = "b"."k" '
    'GROUP BY "a"."k", "b"."g"',
])
@pytest.mark.parametrize("bounds", [[100], [0, 250], [-1000, 10_000], [3, 4, 5, 400]])
def test_the_union_of_the_ranges_is_the_whole_answer(facts, sql, bounds):
    split = key_split(sql, "duckdb")
    key = next(k for k in split.keys if k.column == "k")
    whole = sorted(facts.execute(sql).fetchall(), key=repr)
    parts = split.parts(key, bounds, nullable=True)
    assert len(parts) == len(set(bounds)) + 2  # ranges, plus the NULL keys
    union = sorted((row for part in parts for row in facts.execute(part).fetchall()), key=repr)
    assert union == whole
    if "JOIN" not in sql:  # NULL keys (and only they) come from the last query
        position = [d[0] for d in facts.execute(sql).description].index("k")
        nulls = facts.execute(parts[-1]).fetchall()
        assert nulls and all(row[position] is None for row in nulls)
        assert len(nulls) == sum(1 for row in whole if row[position] is None)


def test_a_not_null_key_gets_no_null_query_and_keeps_a_plain_range(facts):
    split = key_split('SELECT "a"."k", COUNT(*) AS n FROM "t" AS "a" GROUP BY "a"."k"', "duckdb")
    parts = split.parts(split.keys[0], [10, 20], nullable=False)
    assert len(parts) == 3 and not any("IS NULL" in p for p in parts)
    assert '"a"."k" < 10' in parts[0] and " OR " not in parts[0]  # an index range, not a scan with OR


# -- live PostgreSQL ------------------------------------------------------------------------------
@pytest.fixture
def keyed_db(fresh_pg_db):
    with pg_connect(fresh_pg_db) as c:
        c.execute("CREATE TABLE facts (k bigint, v int, note text)")
        c.execute("""INSERT INTO facts SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE i % 5000 END, i % 13, 'n' || i
                     FROM generate_series(1, 60000) AS i""")
        c.execute("CREATE INDEX facts_k ON facts (k)")
        c.execute("CREATE TABLE dims (id int PRIMARY KEY, grp int)")
        c.execute("INSERT INTO dims SELECT i, i % 9 FROM generate_series(0, 4999) AS i")
        c.execute("ANALYZE")
    return fresh_pg_db


@pytest.fixture
def always_split(monkeypatch):
    """Small test tables: let any serial plan count as costly."""
    monkeypatch.setattr(pg_split, "MIN_SERIAL_COST", 0.0)


def _direct(url, sql):
    with pg_connect(url) as c:
        return sorted(c.execute(sql).fetchall(), key=repr)


def _run(app, sql):
    """``(sorted rows, the first fetch's SQL as run)`` of a federated statement, cache off."""
    result = app.federate(sql, use_cache=False)
    return sorted((tuple(r) for r in result.rows()), key=repr), result.plan[0].sql


@pytest.mark.integration
def test_a_serial_grouped_fetch_runs_as_ranges_and_gives_the_same_rows(app, keyed_db, always_split):
    app.connect("pg", keyed_db)
    rows, ran = _run(app, "SELECT f.k, sum(f.v) AS s, count(*) AS n FROM pg.facts AS f "
                          "GROUP BY f.k HAVING sum(f.v) > 70")
    want = _direct(keyed_db, "SELECT k, sum(v), count(*) FROM facts GROUP BY k HAVING sum(v) > 70")
    assert rows == want and any(r[0] is None for r in want)  # the NULL group came through its own query
    assert "-- run as 3 ranges of k on parallel sessions" in ran


@pytest.mark.integration
def test_a_join_grouped_by_the_indexed_key_is_split_and_matches(app, keyed_db, always_split):
    app.connect("pg", keyed_db)
    rows, ran = _run(app, "SELECT d.grp, d.id, count(*) AS n FROM pg.facts AS f JOIN pg.dims AS d ON d.id = f.k "
                          "GROUP BY d.grp, d.id")
    assert rows == _direct(keyed_db, "SELECT d.grp, d.id, count(*) FROM facts f JOIN dims d ON d.id = f.k GROUP BY 1, 2")
    assert "ranges of id on parallel sessions" in ran  # the primary key of dims leads


@pytest.mark.integration
def test_no_split_without_an_index_or_when_turned_off_or_for_cheap_plans(app, keyed_db, always_split, monkeypatch):
    app.connect("pg", keyed_db)
    by_value = app.federate("SELECT f.v, count(*) AS n FROM pg.facts AS f GROUP BY f.v", use_cache=False)
    assert "run as" not in by_value.plan[0].sql and by_value.row_count == 13  # v leads no index
    monkeypatch.setattr(pg_split, "MIN_SERIAL_COST", 1e12)
    cheap = app.federate("SELECT f.k, count(*) AS n FROM pg.facts AS f GROUP BY f.k", use_cache=False)
    assert "run as" not in cheap.plan[0].sql and cheap.row_count == 5001  # keys 0-4999 and NULL
    monkeypatch.setattr(pg_split, "MIN_SERIAL_COST", 0.0)
    app.connections.settings = dataclasses.replace(app.connections.settings, split_sessions=1)
    off = app.federate("SELECT f.k, count(*) AS n FROM pg.facts AS f GROUP BY f.k", use_cache=False)
    assert "run as" not in off.plan[0].sql and off.row_count == 5001


@pytest.mark.integration
def test_a_parallel_plan_is_left_to_postgresql(keyed_db, always_split):
    split = key_split('SELECT "f"."k", COUNT(*) AS n FROM "facts" AS "f" GROUP BY "f"."k"', "postgres")
    with psycopg.connect(keyed_db, autocommit=True) as raw:
        assert pg_split.split_bounds(raw, split, 2) is not None
        for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
            raw.execute(f"SET {setting} = 0")
        raw.execute("SET enable_indexscan = off")
        raw.execute("SET enable_sort = off")
        assert pg_split.split_bounds(raw, split, 2) is None  # it plans a Gather: PostgreSQL uses its cores


@pytest.mark.integration
def test_bounds_are_histogram_quantiles_that_split_rows_evenly(keyed_db):
    split = key_split('SELECT "f"."k", COUNT(*) AS n FROM "facts" AS "f" GROUP BY "f"."k"', "postgres")
    with psycopg.connect(keyed_db, autocommit=True) as raw:
        raw.execute("SET max_parallel_workers_per_gather = 0")
        key, bounds, nullable = pg_split.split_bounds(raw, split, 4) or (None, None, None)
        if key is None:  # this server thinks the table cheap: ask the helpers directly
            bounds = pg_split._histogram_quantiles(raw, '"facts"', "k", 4)
            nullable = True
        counts = [raw.execute(f"SELECT count(*) FROM ({p}) AS q").fetchone()[0]
                  for p in split.parts(split.keys[0], bounds, nullable=nullable)]
    assert bounds == sorted(bounds) and len(bounds) == 3
    assert nullable is True and sum(counts) == 5001
    assert max(counts[:-1]) - min(counts[:-1]) < 250  # ~1250 groups per range


@pytest.mark.integration
def test_a_timeout_stops_every_session(keyed_db):
    extra = {"adbc_uri": keyed_db}
    t0 = time.monotonic()
    with pytest.raises(Exception, match="(?i)timeout|cancel"):
        pg_adbc.fetch_many(extra, ["SELECT pg_sleep(10) AS a", "SELECT pg_sleep(10) AS b"], 10, 0.5)
    assert time.monotonic() - t0 < 5
    assert _busy(keyed_db) == 0
    assert pg_adbc.fetch_many(extra, ["SELECT 1 AS a", "SELECT 2 AS a"], 10, 5)[1].column(0).to_pylist() == [2]
    pg_adbc.close(extra)


@pytest.mark.integration
def test_cancel_stops_every_session(keyed_db):
    extra = {"adbc_uri": keyed_db}
    errors: list[BaseException] = []

    def run():
        try:
            pg_adbc.fetch_many(extra, ["SELECT pg_sleep(20) AS a", "SELECT pg_sleep(20) AS b"], 10, 60)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    worker = threading.Thread(target=run)
    t0 = time.monotonic()
    worker.start()
    deadline = time.monotonic() + 10
    while _busy(keyed_db) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _busy(keyed_db) == 2
    pg_adbc.cancel(extra)
    worker.join(10)
    assert not worker.is_alive() and errors and time.monotonic() - t0 < 10
    assert _busy(keyed_db) == 0
    pg_adbc.close(extra)


def _busy(url) -> int:
    time.sleep(0.1)
    with pg_connect(url) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(%' "
                         "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()[0]


@pytest.mark.integration
def test_an_error_in_one_range_is_the_sources_error_and_the_next_query_works(app, keyed_db, always_split):
    app.connect("pg", keyed_db)
    with pytest.raises(DataAskError, match="pg") as caught:  # only the range holding k = 4000 divides by zero
        app.federate("SELECT f.k, sum(100 / (f.k - 4000)) AS s FROM pg.facts AS f GROUP BY f.k", use_cache=False)
    assert "division by zero" in str(caught.value)
    again = app.federate("SELECT f.k, count(*) AS n FROM pg.facts AS f GROUP BY f.k", use_cache=False)
    assert again.row_count == 5001 and "run as" in again.plan[0].sql


# -- plain reads of one table, cut into row ranges -----------------------------------------------
@pytest.mark.parametrize("sql", [
    'SELECT "o"."k", "o"."v" FROM "t" AS "o" WHERE "o"."tag" <> \'b\'',
    'SELECT a.k FROM s.t AS a WHERE EXISTS (SELECT 1 FROM u WHERE u.k = a.k)',
    "SELECT a.k, (SELECT max(u.g) FROM u WHERE u.k = a.k) AS g FROM t AS a",
])
def test_one_table_reads_can_be_cut_into_row_ranges(sql):
    assert fetch_split(sql, "postgres") == scan_split(sql, "postgres") is not None


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM t AS a",
    "SELECT a.k FROM t AS a JOIN u AS b ON a.k = b.k",
    "SELECT DISTINCT a.k FROM t AS a",
    "SELECT a.k FROM t AS a ORDER BY a.k",
    "SELECT a.k FROM t AS a LIMIT 5",
    "SELECT a.k, row_number() OVER () FROM t AS a",
    "WITH w AS (SELECT 1 AS k) SELECT w.k FROM w AS w",
    "SELECT s.k FROM (SELECT k FROM t) AS s",
])
def test_reads_that_combine_rows_are_not_cut(sql):
    assert scan_split(sql, "postgres") is None


def test_row_ranges_give_every_row_once(facts):
    split = scan_split('SELECT "a"."k", "a"."v" FROM "t" AS "a" WHERE "a"."tag" <> \'b\' OR "a"."v" > 15', "duckdb")
    whole = sorted(facts.execute(split.sql).fetchall(), key=repr)
    parts = split.parts(['"a".rowid < 1000', '"a".rowid >= 1000 AND "a".rowid < 3000', '"a".rowid >= 3000'])
    union = sorted((row for part in parts for row in facts.execute(part).fetchall()), key=repr)
    assert union == whole and len(whole) > 3000


@pytest.mark.integration
def test_a_large_plain_read_runs_as_row_ranges_and_gives_the_same_rows(app, keyed_db, monkeypatch):
    monkeypatch.setattr(pg_split, "MIN_SCAN_ROWS", 0.0)
    app.connect("pg", keyed_db)
    rows, ran = _run(app, "SELECT f.k, f.v, f.note FROM pg.facts AS f WHERE f.v <> 3")
    want = _direct(keyed_db, "SELECT k, v, note FROM facts WHERE v <> 3")
    assert rows == want and "-- run as 2 row ranges on parallel sessions" in ran
    monkeypatch.setattr(pg_split, "MIN_SCAN_ROWS", 1e12)  # the planner expects fewer rows: read whole
    whole = app.federate("SELECT f.k, f.v FROM pg.facts AS f WHERE f.v <> 3", use_cache=False)
    assert "run as" not in whole.plan[0].sql and whole.row_count == len(want)
