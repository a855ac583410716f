"""Federated answers equal the same SQL on one DuckDB holding every table.

Sources are real engines: ``crm`` is a SQLite file, ``sales`` a DuckDB file (read-only).
Each query runs at every pushdown level, so the conservative fallbacks are checked too.
"""

from __future__ import annotations

import pytest

from dataask_jupyter.federation import Federator
from tests.federation_helpers import make_shop, same_rows, table_rows

# (id, sql, ordered?)
QUERIES = [
    ("join_group_order",
     "SELECT c.region, sum(o.amount) AS revenue FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE o.order_date >= DATE '2024-01-01' GROUP BY 1 ORDER BY 2 DESC NULLS LAST, 1", True),
    ("single_source_whole",
     "SELECT o.status, count(*) FROM sales.orders o JOIN sales.items i ON i.order_id = o.id WHERE o.amount > 100 "
     "GROUP BY ALL ORDER BY ALL", True),
    ("three_way_same_source_join",
     "SELECT c.name, o.id, p.name FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
     "JOIN sales.items i ON i.order_id = o.id JOIN sales.products p ON p.id = i.product_id "
     "WHERE c.region = 'North' AND p.price > 50 AND o.status = 'paid'", False),
    ("left_join_filters",
     "SELECT c.name, o.amount FROM crm.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id "
     "AND o.status = 'paid' WHERE c.score > 50 AND o.amount > 10", False),
    ("left_join_anti_pattern",
     "SELECT c.name, o.amount FROM crm.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id "
     "AND c.score > 50 WHERE o.id IS NULL", False),
    ("left_join_coalesce",
     "SELECT c.id, coalesce(o.status, 'none') s FROM crm.customers c LEFT JOIN sales.orders o "
     "ON o.customer_id = c.id WHERE coalesce(o.amount, 0) < 100", False),
    ("full_join_or",
     "SELECT c.id, o.id FROM crm.customers c FULL JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE o.amount > 800 OR c.region = 'North'", False),
    ("right_join",
     "SELECT c.id, o.id FROM sales.orders o RIGHT JOIN crm.customers c ON o.customer_id = c.id "
     "AND o.status = 'open' WHERE c.segment = 'ent'", False),
    ("like_case_sensitive",
     "SELECT * FROM crm.customers WHERE name LIKE 'A%' AND signup_date < DATE '2023-01-01'", False),
    ("ilike_unicode", "SELECT id, name FROM crm.customers WHERE name ILIKE '%zoË%' OR name ILIKE 'a%' ORDER BY id",
     True),
    ("cte_pushed",
     "WITH big AS (SELECT customer_id, sum(amount) s FROM sales.orders GROUP BY 1) "
     "SELECT c.name, big.s FROM crm.customers c JOIN big ON big.customer_id = c.id ORDER BY big.s DESC, c.name "
     "LIMIT 5", True),
    ("cte_chain_same_source",
     "WITH paid AS (SELECT * FROM sales.orders WHERE status = 'paid'), per AS (SELECT customer_id, count(*) n "
     "FROM paid GROUP BY 1) SELECT c.region, sum(per.n) FROM per JOIN crm.customers c ON c.id = per.customer_id "
     "GROUP BY 1 ORDER BY 1 NULLS FIRST", True),
    ("cte_used_twice",
     "WITH r AS (SELECT id, region FROM crm.customers WHERE score > 20) SELECT a.id, b.id FROM r a JOIN r b "
     "ON a.region = b.region AND a.id < b.id JOIN sales.orders o ON o.customer_id = a.id ORDER BY 1, 2 LIMIT 30",
     True),
    ("exists_correlated",
     "SELECT name FROM crm.customers c WHERE EXISTS (SELECT 1 FROM sales.orders o WHERE o.customer_id = c.id "
     "AND o.amount > 500)", False),
    ("exists_moves_into_its_source",
     "SELECT c.name, o.id FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE EXISTS (SELECT 1 FROM sales.orders o2 WHERE o2.customer_id = o.customer_id AND o2.id <> o.id) "
     "AND NOT EXISTS (SELECT * FROM sales.orders o3 WHERE o3.customer_id = o.customer_id AND o3.amount > 900)",
     False),
    ("not_exists_on_null_side_stays",
     "SELECT c.id, o.id FROM crm.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE NOT EXISTS (SELECT 1 FROM sales.orders o2 WHERE o2.id = o.id AND o2.amount > 500)", False),
    ("exists_over_two_sources_stays",
     "SELECT o.id FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id "
     "WHERE EXISTS (SELECT 1 FROM sales.orders o2 WHERE o2.customer_id = c.id AND o2.id < o.id)", False),
    ("shared_scan_correlated_avg",
     "SELECT c.name, o.id FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id "
     "WHERE c.region = 'North' AND o.amount > (SELECT avg(o2.amount) FROM sales.orders o2 "
     "WHERE o2.customer_id = o.customer_id)", False),
    ("shared_scan_cut_for_one_alias_only",
     "SELECT o.id FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id WHERE c.region = 'North' "
     "UNION ALL SELECT o2.id FROM sales.orders o2", False),
    ("in_subquery_other_source",
     "SELECT name FROM crm.customers c WHERE c.id IN (SELECT customer_id FROM sales.orders WHERE status = 'open')",
     False),
    ("not_in_with_nulls",
     "SELECT name FROM crm.customers c WHERE c.id NOT IN (SELECT customer_id FROM sales.orders)", False),
    ("not_in_without_nulls",
     "SELECT name FROM crm.customers c WHERE c.id NOT IN (SELECT customer_id FROM sales.orders "
     "WHERE customer_id IS NOT NULL)", False),
    ("group_having",
     "SELECT c.region, count(DISTINCT o.customer_id) n, avg(o.amount) FROM crm.customers c "
     "JOIN sales.orders o ON o.customer_id = c.id GROUP BY c.region HAVING count(*) > 3 ORDER BY n DESC, c.region",
     True),
    ("window_functions",
     "SELECT c.id, o.id, row_number() OVER (PARTITION BY c.id ORDER BY o.order_date, o.id) rn, "
     "sum(o.amount) OVER (PARTITION BY c.region) FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
     "ORDER BY 1, 2", True),
    ("window_then_filter",
     "SELECT * FROM (SELECT o.id, o.customer_id, rank() OVER (PARTITION BY o.customer_id ORDER BY o.amount DESC) r "
     "FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id) t WHERE r = 1 ORDER BY id", True),
    ("distinct", "SELECT DISTINCT c.region, o.status FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id",
     False),
    ("union_distinct", "SELECT region AS r FROM crm.customers UNION SELECT status FROM sales.orders", False),
    ("union_all_order_limit",
     "SELECT id FROM crm.customers WHERE region = 'North' UNION ALL SELECT id FROM sales.orders "
     "WHERE status = 'paid' ORDER BY 1 LIMIT 20", True),
    ("intersect_except",
     "SELECT id FROM crm.customers EXCEPT SELECT customer_id FROM sales.orders INTERSECT "
     "SELECT customer_id FROM crm.notes", False),
    ("same_source_join_plus_other",
     "SELECT s.label, count(*) FROM crm.customers c JOIN crm.segments s ON s.code = c.segment "
     "JOIN sales.orders o ON o.customer_id = c.id GROUP BY 1 ORDER BY 1", True),
    ("scalar_correlated",
     "SELECT c.name, (SELECT max(o.amount) FROM sales.orders o WHERE o.customer_id = c.id) mx "
     "FROM crm.customers c ORDER BY c.id", True),
    ("scalar_uncorrelated",
     "SELECT c.name, (SELECT max(amount) FROM sales.orders) mx FROM crm.customers c ORDER BY c.id", True),
    ("three_part_name_and_function_join",
     "SELECT t.region, t.target, sum(o.amount) FROM sales.stats.targets t JOIN crm.customers c "
     "ON c.region = t.region JOIN sales.orders o ON o.customer_id = c.id AND year(o.order_date) = t.year "
     "GROUP BY ALL ORDER BY ALL", True),
    ("count_star_single", "SELECT count(*) FROM crm.customers", True),
    ("comma_join_interval",
     "SELECT count(*), count(o.id) FROM crm.customers c, sales.orders o WHERE c.id = o.customer_id "
     "AND c.signup_date > o.order_date - INTERVAL 400 DAY", True),
    ("aggregate_filter",
     "SELECT c.region, sum(o.amount) FILTER (WHERE o.status = 'paid') FROM crm.customers c "
     "LEFT JOIN sales.orders o ON c.id = o.customer_id GROUP BY 1 ORDER BY 1 NULLS FIRST", True),
    ("derived_top_n",
     "SELECT * FROM (SELECT customer_id, count(*) n FROM sales.orders GROUP BY 1 ORDER BY n DESC, customer_id "
     "LIMIT 5) top JOIN crm.customers c ON c.id = top.customer_id ORDER BY n DESC, c.id", True),
    ("min_max_text", "SELECT c.segment, min(c.name), max(c.name) FROM crm.customers c GROUP BY 1 ORDER BY 1", True),
    ("between_in_dates",
     "SELECT c.name FROM crm.customers c WHERE c.signup_date BETWEEN DATE '2022-06-01' AND DATE '2023-06-01' "
     "AND c.region IN ('North', 'east') ORDER BY 1", True),
    ("self_join", "SELECT x.id FROM crm.customers x JOIN crm.customers y ON x.id = y.id + 1 "
                  "WHERE y.region = 'North' ORDER BY 1", True),
    ("recursive_cte",
     "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) "
     "SELECT r.n, c.name FROM r JOIN crm.customers c ON c.id = r.n ORDER BY 1", True),
    ("lateral",
     "SELECT c.name, o.cnt FROM crm.customers c, LATERAL (SELECT count(*) cnt FROM sales.orders o "
     "WHERE o.customer_id = c.id) o ORDER BY c.id", True),
    ("prefix_left_join_group",
     "SELECT c.id, o.id FROM crm.customers c LEFT JOIN crm.notes n ON n.customer_id = c.id "
     "LEFT JOIN sales.orders o ON o.customer_id = c.id WHERE n.id IS NULL AND c.region = 'South' ORDER BY 1, 2",
     True),
    ("semi_join", "SELECT c.name FROM crm.customers c SEMI JOIN sales.orders o ON o.customer_id = c.id "
                  "WHERE c.region = 'North' ORDER BY 1", True),
    ("anti_join", "SELECT c.name FROM crm.customers c ANTI JOIN sales.orders o ON o.customer_id = c.id ORDER BY 1",
     True),
    ("date_arithmetic_names",
     "SELECT upper(name) AS \"Name\", signup_date + 1, score::INTEGER AS s FROM crm.customers WHERE id < 9 "
     "ORDER BY id", True),
    ("nested_in_and_scalar",
     "SELECT c.id FROM crm.customers c WHERE c.score > (SELECT avg(score) FROM crm.customers) "
     "AND c.id IN (SELECT customer_id FROM sales.orders) ORDER BY 1", True),
    ("rollup",
     "SELECT p.category, sum(i.qty * p.price) FROM sales.items i JOIN sales.products p ON p.id = i.product_id "
     "JOIN sales.orders o ON o.id = i.order_id JOIN crm.customers c ON c.id = o.customer_id "
     "WHERE c.region = 'East' GROUP BY ROLLUP (1) ORDER BY 1 NULLS LAST", False),
    ("unqualified_unique_tables",
     "SELECT s.label, count(p.id) FROM segments s, products p WHERE s.priority = p.id GROUP BY 1 ORDER BY 1 "
     "-- reference: crm.segments, sales.products", True),
    ("case_and_booleans",
     "SELECT c.id, o.amount > 100 AS big, CASE WHEN c.score IS NULL THEN 'n/a' WHEN c.score > 50 THEN 'hi' "
     "ELSE 'lo' END AS band FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id ORDER BY 1, 2, 3",
     True),
    ("limit_offset_total_order",
     "SELECT o.id, c.name FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id "
     "ORDER BY o.id LIMIT 7 OFFSET 3", True),
    ("values_and_range",
     "SELECT v.k, count(c.id) FROM (VALUES ('North'), ('South'), ('Nowhere')) v(k) "
     "LEFT JOIN crm.customers c ON c.region = v.k GROUP BY 1 ORDER BY 1", True),
    ("or_factoring_across_sources",
     "SELECT count(*), sum(o.amount) FROM sales.orders o, crm.customers c WHERE "
     "(o.customer_id = c.id AND c.region = 'North' AND o.amount > 100) OR "
     "(o.customer_id = c.id AND c.region = 'South' AND o.status = 'paid') OR "
     "(o.customer_id = c.id AND c.score IS NULL)", True),
    ("or_absorption", "SELECT c.id FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
                      "WHERE (c.region = 'North') OR (c.region = 'North' AND o.amount > 5) ORDER BY 1", False),
    ("substring_filter_unicode",
     "SELECT c.id, o.id FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
     "WHERE substring(c.name, 1, 3) IN ('Zoë', 'Ali', 'bob') AND substring(o.status, 2, 2) = 'ai'", False),
    ("string_agg_order",
     "SELECT c.region, string_agg(o.status, ',' ORDER BY o.id) FROM crm.customers c JOIN sales.orders o "
     "ON o.customer_id = c.id WHERE o.id < 60 GROUP BY 1 ORDER BY 1 NULLS LAST", True),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return make_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def federator():
    return Federator(cache=None)


@pytest.mark.parametrize("level", ["full", "tables", "bare"])
@pytest.mark.parametrize(("sql", "ordered"), [q[1:] for q in QUERIES], ids=[q[0] for q in QUERIES])
def test_matches_single_duckdb(shop, federator, sql, ordered, level):
    result = federator.run(sql, sources=shop.sources, pushdown=level, max_rows=None)
    reference = sql
    if "-- reference:" in sql:  # unqualified names: qualify them for the single DuckDB
        reference, _, names = sql.partition("-- reference:")
        for name in names.split(","):
            reference = reference.replace(f" {name.strip().split('.')[1]} ", f" {name.strip()} ")
    expected = shop.expected(reference)
    assert result.columns == expected.column_names
    assert same_rows(result.table, expected, ordered=ordered), (
        f"{result.federation_plan.explain()}\n got: {table_rows(result.table)[:8]}\nwant: {table_rows(expected)[:8]}"
    )
    assert result.row_count == expected.num_rows and not result.truncated


def test_pushdown_reduces_transfer(shop, federator):
    sql = ("SELECT c.region, sum(o.amount) FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id "
           "WHERE o.status = 'paid' GROUP BY 1")
    full = federator.run(sql, sources=shop.sources)
    bare = federator.run(sql, sources=shop.sources, pushdown="bare")
    rows = {s.source: s.rows for s in full.plan}
    assert rows["sales"] < {s.source: s.rows for s in bare.plan}["sales"]
    assert sum(s.bytes for s in full.plan) < sum(s.bytes for s in bare.plan)
    assert same_rows(full.table, bare.table, ordered=False)


def test_sqlite_types_are_coerced(shop, federator):
    result = federator.run("SELECT signup_date, score > 50 AS good FROM crm.customers WHERE id = 1",
                           sources=shop.sources)
    assert str(result.table.schema.field("signup_date").type) == "date32[day]"
    assert str(result.table.schema.field("good").type) == "bool"
