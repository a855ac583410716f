"""Semi-join reduction: which fetch may be cut by whose keys, in what order, and that answers stay equal."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dataask_jupyter.federation import Federator
from dataask_jupyter.federation.model import SourceFetch
from dataask_jupyter.federation.reduction import (
    MAX_KEYS,
    Edge,
    estimate_rows,
    find_edges,
    plan_reductions,
    reduced_sql,
)
from tests.federation_helpers import make_shop, same_rows, table_rows


def _fetch(name, columns, sql="SELECT 1", dialect="duckdb", types=None, tables=()):
    return SourceFetch(source=name.split("_")[1] if "_" in name else "s", sql=sql, name=name,
                       columns=tuple(columns), dialect=dialect, kind="table", tables=tuple(tables),
                       column_types=types or {c: "BIGINT" for c in columns})


F = [_fetch("__f0_a", ["id", "k"]), _fetch("__f1_b", ["id", "x"]), _fetch("__f2_c", ["id"])]


def edges_of(sql: str) -> set[tuple[str, str, str, str]]:
    return {(e.target, e.column, e.reducer, e.reducer_column) for e in find_edges(sql, F)}


# -- which conjuncts allow a cut ---------------------------------------------------------------------
def test_inner_join_keys_cut_both_ways():
    got = edges_of('SELECT * FROM __f0_a AS a JOIN __f1_b AS b ON a.k = b.id')
    assert got == {("__f0_a", "k", "__f1_b", "id"), ("__f1_b", "id", "__f0_a", "k")}


def test_left_join_never_cuts_the_preserved_side():
    got = edges_of('SELECT * FROM __f0_a AS a LEFT JOIN __f1_b AS b ON a.k = b.id')
    assert got == {("__f1_b", "id", "__f0_a", "k")}


def test_full_join_cuts_nothing():
    assert edges_of('SELECT * FROM __f0_a AS a FULL JOIN __f1_b AS b ON a.k = b.id') == set()


def test_where_equality_cuts_even_across_an_outer_join():
    # the WHERE needs a.k = b.id on every output row, whatever the join kind
    got = edges_of('SELECT * FROM __f0_a AS a LEFT JOIN __f2_c AS c ON c.id = a.id, __f1_b AS b WHERE a.k = b.id')
    assert ("__f0_a", "k", "__f1_b", "id") in got and ("__f1_b", "id", "__f0_a", "k") in got
    assert ("__f0_a", "id", "__f2_c", "id") not in got  # the LEFT JOIN's preserved side


def test_correlated_subquery_cuts_the_inner_table_only():
    sql = ('SELECT * FROM __f0_a AS a WHERE NOT EXISTS (SELECT 1 FROM __f1_b AS b WHERE b.id = a.k) '
           'AND a.id < (SELECT max(c.id) FROM __f2_c AS c WHERE c.id = a.k)')
    got = edges_of(sql)
    assert got == {("__f1_b", "id", "__f0_a", "k"), ("__f2_c", "id", "__f0_a", "k")}


def test_in_subquery_cuts_the_outer_table_but_not_in_does_not():
    assert edges_of('SELECT * FROM __f0_a AS a WHERE a.k IN (SELECT b.id FROM __f1_b AS b WHERE b.x > 3)') == {
        ("__f0_a", "k", "__f1_b", "id")}
    assert edges_of('SELECT * FROM __f0_a AS a WHERE a.k IN (SELECT * FROM __f2_c)') == {("__f0_a", "k", "__f2_c", "*")}
    assert edges_of('SELECT * FROM __f0_a AS a WHERE a.k NOT IN (SELECT b.id FROM __f1_b AS b)') == set()


def test_a_fetch_read_under_two_aliases_is_cut_only_by_what_cuts_both():
    both = ('SELECT * FROM __f0_a AS a JOIN __f1_b AS b ON a.k = b.id WHERE a.x > '
            '(SELECT avg(a2.x) FROM __f0_a AS a2 WHERE a2.k = b.id)')
    assert ("__f0_a", "k", "__f1_b", "id") in edges_of(both)
    one = ('SELECT a.k FROM __f0_a AS a JOIN __f1_b AS b ON a.k = b.id '
           'UNION ALL SELECT a2.k FROM __f0_a AS a2')
    assert ("__f0_a", "k", "__f1_b", "id") not in edges_of(one)  # a2 needs every row
    assert ("__f1_b", "id", "__f0_a", "k") in edges_of(one)


def test_or_and_non_equality_conditions_cut_nothing():
    assert edges_of('SELECT * FROM __f0_a AS a, __f1_b AS b WHERE a.k = b.id OR a.id = 1') == set()
    assert edges_of('SELECT * FROM __f0_a AS a JOIN __f1_b AS b ON a.k < b.id') == set()


# -- order ---------------------------------------------------------------------------------------------
def test_the_small_filtered_side_goes_first_and_no_cycles():
    small = _fetch("__f0_a", ["id"], sql="SELECT id FROM a WHERE name = 'x'", tables=("s.a",))
    big = _fetch("__f1_b", ["a_id"], sql="SELECT a_id FROM b", tables=("s.b",))
    rows = {"s.a": 10_000.0, "s.b": 5_000_000.0}
    waits = plan_reductions([small, big], 'SELECT * FROM __f0_a AS a JOIN __f1_b AS b ON a.id = b.a_id', rows.get)
    assert list(waits) == ["__f1_b"]
    assert waits["__f1_b"] == [Edge("__f1_b", "a_id", "__f0_a", "id")]


def test_an_unfiltered_whole_table_is_no_reducer():
    whole = _fetch("__f0_a", ["id"], sql="SELECT id FROM a", tables=("s.a",))
    big = _fetch("__f1_b", ["a_id"], sql="SELECT a_id FROM b", tables=("s.b",))
    rows = {"s.a": 10_000.0, "s.b": 5_000_000.0}
    assert plan_reductions([whole, big], 'SELECT * FROM __f0_a AS a JOIN __f1_b AS b ON a.id = b.a_id',
                           rows.get) == {}


def test_no_wait_for_a_big_scan_when_the_target_is_cheap_whole():
    # the reducer reads 6M rows to return a few thousand; the target is a small DuckDB table
    slow = _fetch("__f0_a", ["k"], sql="SELECT k FROM a WHERE x = 1 AND y = 2", tables=("s.a",),
                  dialect="postgres")
    cheap = _fetch("__f1_b", ["k"], sql="SELECT k FROM b", tables=("s.b",), dialect="duckdb")
    rows = {"s.a": 6_000_000.0, "s.b": 150_000.0}.get
    residual = 'SELECT * FROM __f0_a AS a JOIN __f1_b AS b ON a.k = b.k'
    assert plan_reductions([slow, cheap], residual, rows) == {}
    # the same target shipped row by row from SQLite is worth the wait
    costly = _fetch("__f1_b", ["k"], sql="SELECT k FROM b", tables=("s.b",), dialect="sqlite")
    assert list(plan_reductions([slow, costly], residual, rows)) == ["__f1_b"]


def test_or_of_and_blocks_is_estimated_as_a_sum_of_products():
    rows = {"s.t": 200_000.0}.get
    sql = ("SELECT x FROM t WHERE (b = 'x' AND c IN (1, 2, 3, 4) AND s BETWEEN 1 AND 5) "
           "OR (b = 'y' AND c IN (5, 6, 7, 8) AND s BETWEEN 1 AND 10)")
    est = estimate_rows(_fetch("__f0_a", ["x"], sql=sql, tables=("s.t",)), rows)
    assert 100 < est < 2_000  # each block keeps ~0.15%; a flat 50% for the OR was 100,000
    assert estimate_rows(_fetch("__f0_a", ["x"], sql="SELECT x FROM t WHERE NOT y = 3", tables=("s.t",)),
                         rows) == pytest.approx(200_000 * 0.95)


def test_estimates_follow_filters_grouping_and_limits():
    rows = {"s.t": 1_000_000.0}.get
    assert estimate_rows(_fetch("__f0_a", ["x"], sql="SELECT x FROM t", tables=("s.t",)), rows) == 1_000_000
    eq = estimate_rows(_fetch("__f0_a", ["x"], sql="SELECT x FROM t WHERE y = 3", tables=("s.t",)), rows)
    rng = estimate_rows(_fetch("__f0_a", ["x"], sql="SELECT x FROM t WHERE y > 3", tables=("s.t",)), rows)
    assert eq < rng < 1_000_000
    assert estimate_rows(_fetch("__f0_a", ["x"], sql="SELECT count(*) FROM t", tables=("s.t",)), rows) == 1
    assert estimate_rows(_fetch("__f0_a", ["x"], sql="SELECT x FROM t LIMIT 7", tables=("s.t",)), rows) == 7


# -- the SQL sent --------------------------------------------------------------------------------------
def test_reduced_sql_per_dialect_and_key_kind():
    keys = {"__f9_k": pa.table({"id": pa.array([3, 1, None, 3], pa.int64()), "name": ["o'brien", "x", None, "x"]})}
    pg = _fetch("__f0_a", ["a_id"], sql='SELECT "a_id" FROM "t"', dialect="postgres")
    sql, shown = reduced_sql(pg, [Edge("__f0_a", "a_id", "__f9_k", "id")], keys)
    assert sql.endswith("\"__r\".\"a_id\" = ANY('{3,1}'::bigint[])") or sql.endswith("ANY('{1,3}'::bigint[])")
    assert "<2 keys from __f9_k>" in shown
    lite = _fetch("__f0_a", ["nm"], sql='SELECT "nm" FROM "t"', dialect="sqlite", types={"nm": "VARCHAR"})
    sql, _ = reduced_sql(lite, [Edge("__f0_a", "nm", "__f9_k", "name")], keys)
    assert "IN ('o''brien', 'x')" in sql or "IN ('x', 'o''brien')" in sql


def test_reduced_sql_skips_type_mismatch_and_too_many_keys_but_empties_on_no_keys():
    text_target = _fetch("__f0_a", ["a_id"], types={"a_id": "VARCHAR"})
    ints = {"__f9_k": pa.table({"id": pa.array([1, 2])})}
    assert reduced_sql(text_target, [Edge("__f0_a", "a_id", "__f9_k", "id")], ints) is None
    many = {"__f9_k": pa.table({"id": pa.array(range(MAX_KEYS + 1))})}
    assert reduced_sql(_fetch("__f0_a", ["a_id"]), [Edge("__f0_a", "a_id", "__f9_k", "id")], many) is None
    empty = {"__f9_k": pa.table({"id": pa.array([None], pa.int64())})}
    sql, shown = reduced_sql(_fetch("__f0_a", ["a_id"]), [Edge("__f0_a", "a_id", "__f9_k", "id")], empty)
    assert sql.endswith("WHERE 1 = 0") and "no keys" in shown


# -- end to end on real SQLite + DuckDB ----------------------------------------------------------------
@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return make_shop(tmp_path_factory.mktemp("shop"))


CASES = [
    # (sql, ordered)
    ("SELECT c.name, o.id FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE c.region = 'North' ORDER BY 2", True),
    ("SELECT c.id, count(o.id) FROM crm.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE c.region = 'South' GROUP BY 1 ORDER BY 1", True),
    ("SELECT o.id FROM sales.orders o WHERE o.customer_id IN (SELECT id FROM crm.customers WHERE score > 90) "
     "ORDER BY 1", True),
    ("SELECT o.id FROM sales.orders o WHERE o.customer_id NOT IN (SELECT id FROM crm.customers WHERE score > 90) "
     "ORDER BY 1", True),
    ("SELECT c.id FROM crm.customers c WHERE c.region = 'East' AND NOT EXISTS "
     "(SELECT * FROM sales.orders o WHERE o.customer_id = c.id AND o.status = 'paid') ORDER BY 1", True),
    ("SELECT c.id, (SELECT sum(o.amount) FROM sales.orders o WHERE o.customer_id = c.id) AS total "
     "FROM crm.customers c WHERE c.segment = 'ent' ORDER BY 1", True),
    ("SELECT c.segment, count(*) FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE c.name = 'nobody at all' GROUP BY 1", False),
    ("SELECT s.label, count(*) FROM crm.segments s JOIN crm.customers c ON c.segment = s.code "
     "JOIN sales.orders o ON o.customer_id = c.id WHERE s.priority = 1 GROUP BY 1", False),
]


@pytest.mark.parametrize(("sql", "ordered"), CASES)
def test_reduced_runs_equal_unreduced_and_single_duckdb(shop, sql, ordered):
    reduced = Federator(cache=None).run(sql, sources=shop.sources, max_rows=None)
    plain = Federator(cache=None, reduce=False).run(sql, sources=shop.sources, max_rows=None)
    expected = shop.expected(sql)
    assert same_rows(reduced.table, expected, ordered=ordered), (
        f"{reduced.federation_plan.explain()}\n{[s.sql for s in reduced.plan]}\n"
        f"got {table_rows(reduced.table)[:5]} want {table_rows(expected)[:5]}")
    assert same_rows(plain.table, expected, ordered=ordered)


def test_a_selective_side_cuts_what_the_other_source_sends(shop):
    sql = ("SELECT c.name, o.amount FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
           "WHERE c.region = 'North' AND c.score > 60")
    reduced = Federator(cache=None).run(sql, sources=shop.sources, max_rows=None)
    plain = Federator(cache=None, reduce=False).run(sql, sources=shop.sources, max_rows=None)
    moved = {s.source: s.rows for s in reduced.plan}
    assert moved["sales"] < {s.source: s.rows for s in plain.plan}["sales"]
    cut = next(s for s in reduced.plan if s.source == "sales")
    assert "keys from" in cut.sql  # the plan shows the cut, not thousands of literals
    assert same_rows(reduced.table, plain.table, ordered=False)
