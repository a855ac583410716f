"""Planner: name resolution, pushdown decisions and the SQL sent to each dialect (snapshots)."""

from __future__ import annotations

import pytest

from dataask_jupyter.errors import ConnectionNotFound, TableNotFound, UnsafeSQL, UsageError
from dataask_jupyter.federation import Planner
from tests.federation_helpers import dialect_sources, make_shop


@pytest.fixture
def sources():
    return dialect_sources()


@pytest.fixture
def planner():
    return Planner()


def fetch_of(plan, source):
    found = [f for f in plan.fetches if f.source == source]
    assert len(found) == 1, plan.explain()
    return found[0]


# --------------------------------------------------------------------------- snapshots per dialect


def test_filter_and_projection_pushed_mysql_and_postgres(planner, sources):
    plan = planner.plan(
        "SELECT c.c_mktsegment, sum(o.o_totalprice) AS revenue FROM my.customer c "
        "JOIN pg.orders o ON o.o_custkey = c.c_custkey "
        "WHERE o.o_orderdate >= DATE '1995-01-01' AND c.c_acctbal > 0 GROUP BY 1",
        sources,
    )
    assert fetch_of(plan, "my").sql == (
        "SELECT `c`.`c_custkey` AS `c_custkey`, `c`.`c_mktsegment` AS `c_mktsegment` "
        "FROM `customer` AS `c` WHERE `c`.`c_acctbal` > 0"
    )
    assert fetch_of(plan, "pg").sql == (
        'SELECT "o"."o_custkey" AS "o_custkey", "o"."o_totalprice" AS "o_totalprice" '
        'FROM "public"."orders" AS "o" WHERE "o"."o_orderdate" >= CAST(\'1995-01-01\' AS DATE)'
    )
    assert plan.residual_sql == (
        'SELECT "c"."c_mktsegment" AS "c_mktsegment", SUM("o"."o_totalprice") AS "revenue" '
        'FROM __f0_my_customer AS "c" JOIN __f1_pg_orders AS "o" ON "o"."o_custkey" = "c"."c_custkey" '
        'GROUP BY "c"."c_mktsegment"'
    )
    assert plan.output_columns == ("c_mktsegment", "revenue")
    assert not plan.passthrough


def test_sqlite_text_equality_and_date_pushed(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey "
        "WHERE c.c_mktsegment = 'BUILDING' AND o.o_orderdate < DATE '1995-03-15'",
        sources,
    )
    assert fetch_of(plan, "lite").sql == (
        'SELECT "c"."c_custkey" AS "c_custkey", "c"."c_name" AS "c_name" FROM "customer" AS "c" '
        "WHERE \"c\".\"c_mktsegment\" = 'BUILDING'"
    )
    assert fetch_of(plan, "pg").sql.endswith(
        'FROM "public"."orders" AS "o" WHERE "o"."o_orderdate" < CAST(\'1995-03-15\' AS DATE)'
    )


def test_same_source_join_is_one_fetch_per_source(planner, sources):
    plan = planner.plan(
        "SELECT o.o_orderkey, sum(l.l_extendedprice * (1 - l.l_discount)) AS rev, n.n_name "
        "FROM pg.orders o JOIN pg.lineitem l ON l.l_orderkey = o.o_orderkey "
        "JOIN lite.customer c ON c.c_custkey = o.o_custkey JOIN lite.nation n ON n.n_nationkey = c.c_nationkey "
        "WHERE l.l_shipdate > DATE '1995-03-15' GROUP BY 1, 3",
        sources,
    )
    assert [f.kind for f in plan.fetches] == ["join", "join"]
    assert fetch_of(plan, "pg").sql == (
        'SELECT "o"."o_orderkey" AS "o__o_orderkey", "o"."o_custkey" AS "o__o_custkey", '
        '"l"."l_extendedprice" AS "l__l_extendedprice", "l"."l_discount" AS "l__l_discount" '
        'FROM "public"."orders" AS "o" JOIN "public"."lineitem" AS "l" ON "l"."l_orderkey" = "o"."o_orderkey" '
        "WHERE \"l\".\"l_shipdate\" > CAST('1995-03-15' AS DATE)"
    )
    assert fetch_of(plan, "lite").sql == (
        'SELECT "c"."c_custkey" AS "c__c_custkey", "n"."n_name" AS "n__n_name" FROM "customer" AS "c" '
        'JOIN "nation" AS "n" ON "n"."n_nationkey" = "c"."c_nationkey"'
    )
    assert plan.residual_sql == (
        'SELECT "o_l"."o__o_orderkey" AS "o_orderkey", SUM("o_l"."l__l_extendedprice" * '
        '(1 - "o_l"."l__l_discount")) AS "rev", "c_n"."n__n_name" AS "n_name" FROM __f0_pg_join AS o_l '
        'JOIN __f1_lite_join AS c_n ON "c_n"."c__c_custkey" = "o_l"."o__o_custkey" '
        'GROUP BY "o_l"."o__o_orderkey", "c_n"."n__n_name"'
    )


def test_whole_query_pushed_to_postgres_with_byte_order_collation(planner, sources):
    plan = planner.plan(
        "SELECT o_orderstatus, count(*) AS n FROM pg.public.orders WHERE o_comment LIKE '%special%' "
        "GROUP BY 1 ORDER BY 1 LIMIT 10",
        sources,
    )
    assert plan.passthrough and len(plan.fetches) == 1
    assert plan.fetches[0].sql == (
        'SELECT "orders"."o_orderstatus" AS "o_orderstatus", COUNT(*) AS "n" FROM "public"."orders" AS "orders" '
        "WHERE \"orders\".\"o_comment\" LIKE '%special%' GROUP BY \"orders\".\"o_orderstatus\" "
        'ORDER BY "o_orderstatus" COLLATE "C" LIMIT 10'
    )
    assert plan.output_columns == ("o_orderstatus", "n")


def test_whole_query_pushed_to_sqlite_and_duckdb(planner, sources):
    lite = planner.plan(
        "SELECT n_name, count(*) FROM lite.customer JOIN lite.nation ON n_nationkey = c_nationkey "
        "GROUP BY 1 ORDER BY 2 DESC",
        sources,
    )
    assert lite.passthrough
    assert lite.fetches[0].sql == (
        'SELECT "nation"."n_name" AS "n_name", COUNT(*) AS "_col_1" FROM "customer" AS "customer" '
        'JOIN "nation" AS "nation" ON "nation"."n_nationkey" = "customer"."c_nationkey" '
        'GROUP BY "nation"."n_name" ORDER BY "_col_1" DESC'
    )
    assert lite.output_columns == ("n_name", "count_star()")
    duck = planner.plan("SELECT p_name FROM duck.part WHERE p_size > 10 AND p_name ILIKE '%green%' "
                        "ORDER BY p_name LIMIT 5", sources)
    assert duck.fetches[0].sql == (
        'SELECT "part"."p_name" AS "p_name" FROM "part" AS "part" WHERE "part"."p_size" > 10 '
        "AND \"part\".\"p_name\" ILIKE '%green%' ORDER BY \"p_name\" LIMIT 5"
    )


def test_mysql_text_comparison_stays_in_duckdb(planner, sources):
    plan = planner.plan(
        "SELECT c_name, c_acctbal FROM my.customer WHERE c_name = 'Bob' AND c_acctbal > 10 "
        "ORDER BY c_acctbal DESC LIMIT 3",
        sources,
    )
    assert not plan.passthrough
    assert plan.fetches[0].sql == (
        "SELECT `customer`.`c_name` AS `c_name`, `customer`.`c_acctbal` AS `c_acctbal` "
        "FROM `customer` AS `customer` WHERE `customer`.`c_acctbal` > 10"
    )
    assert "\"customer\".\"c_name\" = 'Bob'" in plan.residual_sql
    assert any("case-insensitively" in n for n in plan.notes)


def test_sqlite_like_is_not_pushed(planner, sources):
    plan = planner.plan("SELECT c_name FROM lite.customer WHERE c_name LIKE 'A%' AND c_acctbal > 0", sources)
    sql = plan.fetches[0].sql
    assert "LIKE" not in sql and '"customer"."c_acctbal" > 0' in sql
    assert "LIKE 'A%'" in plan.residual_sql


def test_uncorrelated_in_subquery_pushed_whole(planner, sources):
    plan = planner.plan(
        "SELECT p.p_name FROM duck.part p WHERE p.p_partkey IN "
        "(SELECT l_partkey FROM pg.lineitem WHERE l_quantity > 40) AND p.p_type LIKE '%BRASS'",
        sources,
    )
    assert fetch_of(plan, "pg").sql == (  # IN needs each value once
        'SELECT DISTINCT "lineitem"."l_partkey" AS "l_partkey" FROM "public"."lineitem" AS "lineitem" '
        'WHERE "lineitem"."l_quantity" > 40'
    )
    assert fetch_of(plan, "duck").sql == (
        'SELECT "p"."p_partkey" AS "p_partkey", "p"."p_name" AS "p_name" FROM "part" AS "p" '
        "WHERE \"p\".\"p_type\" LIKE '%BRASS'"
    )
    assert plan.residual_sql == (
        'SELECT "p"."p_name" AS "p_name" FROM __f1_duck_part AS "p" WHERE "p"."p_partkey" IN '
        "(SELECT * FROM __f0_pg_query)"
    )


def test_cte_in_one_source_pushed_whole(planner, sources):
    plan = planner.plan(
        "WITH t AS (SELECT o_custkey, max(o_orderdate) AS last FROM pg.orders GROUP BY 1) "
        "SELECT DISTINCT c.c_mktsegment FROM t JOIN lite.customer c ON c.c_custkey = t.o_custkey "
        "WHERE t.last > DATE '1998-01-01'",
        sources,
    )
    assert fetch_of(plan, "pg").kind == "query"
    assert fetch_of(plan, "pg").sql == (
        'SELECT "orders"."o_custkey" AS "o_custkey", MAX("orders"."o_orderdate") AS "last" '
        'FROM "public"."orders" AS "orders" GROUP BY "orders"."o_custkey"'
    )
    assert plan.residual_sql.startswith('WITH "t" AS (SELECT * FROM __f0_pg_query) SELECT DISTINCT')


# --------------------------------------------------------------------------- correctness rules


def test_outer_join_nullable_side(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name, o.o_totalprice FROM my.customer c LEFT JOIN pg.orders o "
        "ON o.o_custkey = c.c_custkey AND o.o_orderstatus = 'F' "
        "WHERE o.o_totalprice > 100 AND c.c_acctbal < 0",
        sources,
    )
    # ON filter of the right side moves into its fetch; the null-rejecting WHERE filter is copied
    # there too but stays in DuckDB; the preserved side's WHERE filter moves.
    assert fetch_of(plan, "pg").sql.endswith(
        "WHERE \"o\".\"o_totalprice\" > 100 AND \"o\".\"o_orderstatus\" = 'F'"
    )
    assert fetch_of(plan, "my").sql.endswith("WHERE `c`.`c_acctbal` < 0")
    assert plan.residual_sql.endswith(
        'LEFT JOIN __f1_pg_orders AS "o" ON "o"."o_custkey" = "c"."c_custkey" WHERE "o"."o_totalprice" > 100'
    )


def test_is_null_on_nullable_side_not_pushed(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name FROM lite.customer c LEFT JOIN pg.orders o ON o.o_custkey = c.c_custkey "
        "AND c.c_acctbal > 0 WHERE o.o_orderkey IS NULL",
        sources,
    )
    assert "WHERE" not in fetch_of(plan, "pg").sql
    assert "WHERE" not in fetch_of(plan, "lite").sql  # left side of a LEFT JOIN's ON stays put
    assert 'AND "c"."c_acctbal" > 0 WHERE "o"."o_orderkey" IS NULL' in plan.residual_sql


def test_full_join_filters_stay(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name FROM lite.customer c FULL JOIN pg.orders o ON o.o_custkey = c.c_custkey "
        "AND o.o_orderstatus = 'F' WHERE c.c_acctbal > 0",
        sources,
    )
    assert "WHERE" not in fetch_of(plan, "pg").sql  # ON filter of a FULL JOIN stays
    # a null-rejecting WHERE filter on a FULL JOIN side is copied into the fetch and kept
    assert fetch_of(plan, "lite").sql.endswith('WHERE "c"."c_acctbal" > 0')
    assert plan.residual_sql.endswith('WHERE "c"."c_acctbal" > 0')


def test_or_across_sources_not_pushed(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey "
        "WHERE o.o_totalprice > 1000 OR c.c_acctbal < 0",
        sources,
    )
    assert all("WHERE" not in f.sql for f in plan.fetches)
    assert 'WHERE "o"."o_totalprice" > 1000 OR "c"."c_acctbal" < 0' in plan.residual_sql


def test_correlated_subquery_evaluated_in_duckdb(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name FROM lite.customer c WHERE EXISTS (SELECT 1 FROM pg.orders o "
        "WHERE o.o_custkey = c.c_custkey AND o.o_orderdate < DATE '1993-01-01')",
        sources,
    )
    assert fetch_of(plan, "pg").kind == "table"
    assert fetch_of(plan, "pg").sql == (  # only read by EXISTS: each key once is enough
        'SELECT DISTINCT "o"."o_custkey" AS "o_custkey" FROM "public"."orders" AS "o" '
        "WHERE \"o\".\"o_orderdate\" < CAST('1993-01-01' AS DATE)"
    )
    assert 'WHERE EXISTS(SELECT 1 AS "1" FROM __f1_pg_orders AS "o" WHERE "o"."o_custkey" = "c"."c_custkey")' \
        in plan.residual_sql


def test_correlated_exists_moves_into_the_fetch_of_its_source(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name, o.o_orderkey FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey "
        "JOIN pg.lineitem l ON l.l_orderkey = o.o_orderkey "
        "WHERE NOT EXISTS (SELECT * FROM pg.lineitem l2 WHERE l2.l_orderkey = l.l_orderkey "
        "AND l2.l_partkey <> l.l_partkey) AND o.o_orderstatus = 'F'",
        sources,
    )
    pg = fetch_of(plan, "pg")
    assert pg.kind == "join"
    assert pg.sql.endswith(
        'WHERE NOT EXISTS(SELECT 1 AS "__one" FROM "public"."lineitem" AS "l2" '
        'WHERE "l2"."l_orderkey" = "l"."l_orderkey" AND "l2"."l_partkey" <> "l"."l_partkey") '
        "AND \"o\".\"o_orderstatus\" = 'F'"
    )
    assert "EXISTS" not in plan.residual_sql
    assert len(plan.fetches) == 2  # l2 is not fetched at all


def test_exists_correlated_with_another_source_or_sqlite_is_planned_as_before(planner, sources):
    across = planner.plan(
        "SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey "
        "WHERE EXISTS (SELECT 1 FROM pg.lineitem l WHERE l.l_orderkey = o.o_orderkey AND l.l_partkey = c.c_nationkey)",
        sources,
    )
    assert "EXISTS" in across.residual_sql
    assert {f.source for f in across.fetches} == {"lite", "pg"} and len(across.fetches) == 3
    lite = planner.plan(
        "SELECT c.c_name FROM lite.customer c WHERE EXISTS (SELECT 1 FROM lite.nation n "
        "WHERE n.n_nationkey = c.c_nationkey AND n.n_name = 'FRANCE')",
        sources,
    )
    # SQLite runs correlated subqueries as nested loops: DuckDB does it, with the inner filter pushed
    assert "EXISTS" in lite.residual_sql
    assert [f.sql for f in lite.fetches][1] == (
        'SELECT DISTINCT "n"."n_nationkey" AS "n_nationkey" FROM "nation" AS "n" WHERE "n"."n_name" = \'FRANCE\'')


def test_distinct_only_for_fetches_read_row_by_row_by_semi_joins(planner, sources):
    counted = planner.plan(
        "SELECT c.c_name FROM lite.customer c WHERE c.c_custkey IN (SELECT o.o_custkey FROM pg.orders o) "
        "AND c.c_acctbal > (SELECT count(*) FROM pg.lineitem l WHERE l.l_orderkey = c.c_custkey)",
        sources,
    )
    orders = next(f for f in counted.fetches if "orders" in f.sql)
    lineitem = next(f for f in counted.fetches if "lineitem" in f.sql)
    assert orders.sql.startswith("SELECT DISTINCT")
    assert not lineitem.sql.startswith("SELECT DISTINCT")  # count(*) needs every row
    joined = planner.plan(
        "SELECT c.c_name, o.o_orderkey FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey",
        sources,
    )
    assert not any(f.sql.startswith("SELECT DISTINCT") for f in joined.fetches)


def test_limit_without_order_and_windows_stay_in_duckdb(planner, sources):
    limited = planner.plan(
        "SELECT c.c_name, o.o_orderkey FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey LIMIT 10",
        sources,
    )
    assert all("LIMIT" not in f.sql for f in limited.fetches)
    assert limited.residual_sql.endswith("LIMIT 10")
    windowed = planner.plan(
        "SELECT o.o_orderkey, rank() OVER (PARTITION BY c.c_nationkey ORDER BY o.o_totalprice DESC) AS r "
        "FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey WHERE o.o_orderstatus = 'O'",
        sources,
    )
    assert fetch_of(windowed, "pg").sql.endswith("WHERE \"o\".\"o_orderstatus\" = 'O'")
    assert "RANK() OVER" in windowed.residual_sql and "OVER" not in fetch_of(windowed, "pg").sql


def test_or_blocks_are_factored_and_imply_prefilters(planner, sources):
    plan = planner.plan(
        "SELECT count(*) FROM lite.customer c, pg.orders o WHERE "
        "(o.o_custkey = c.c_custkey AND c.c_mktsegment = 'BUILDING' AND o.o_totalprice > 100) OR "
        "(o.o_custkey = c.c_custkey AND c.c_mktsegment = 'MACHINERY' AND o.o_totalprice < 50)",
        sources,
    )
    assert fetch_of(plan, "lite").sql.endswith(
        "WHERE (\"c\".\"c_mktsegment\" = 'BUILDING') OR (\"c\".\"c_mktsegment\" = 'MACHINERY')"
    )
    assert fetch_of(plan, "pg").sql.endswith('WHERE ("o"."o_totalprice" > 100) OR ("o"."o_totalprice" < 50)')
    # the join key came out of the OR; the OR itself is still checked in DuckDB
    assert plan.residual_sql.endswith(
        'WHERE "o"."o_custkey" = "c"."c_custkey" AND (("c"."c_mktsegment" = \'BUILDING\' AND '
        '"o"."o_totalprice" > 100) OR ("c"."c_mktsegment" = \'MACHINERY\' AND "o"."o_totalprice" < 50))'
    )


def test_sqlite_gets_no_correlated_subqueries(planner, sources):
    plan = planner.plan(
        "SELECT c.c_name FROM lite.customer c WHERE c.c_acctbal > "
        "(SELECT avg(c2.c_acctbal) FROM lite.customer c2 WHERE c2.c_nationkey = c.c_nationkey)",
        sources,
    )
    # c and c2 read the same table with the same (no) filters: one fetch serves both aliases
    assert not plan.passthrough and [f.kind for f in plan.fetches] == ["table"]
    assert set(plan.fetches[0].columns) == {"c_name", "c_acctbal", "c_nationkey"}
    assert plan.residual_sql.count(plan.fetches[0].name) == 2
    assert any("nested loops" in n for n in plan.notes)


def test_aliases_with_different_filters_get_their_own_fetch(planner, sources):
    plan = planner.plan(
        "SELECT a.c_name, b.c_name FROM lite.customer a JOIN lite.customer b ON a.c_nationkey = b.c_nationkey "
        "JOIN pg.orders o ON o.o_custkey = a.c_custkey WHERE a.c_acctbal > 0 AND b.c_acctbal < 0",
        sources,
    )
    lite = [f for f in plan.fetches if f.source == "lite"]
    assert len(lite) == 1 and lite[0].kind == "join"  # same source: joined there
    self_join = planner.plan(
        "SELECT x.c_name FROM lite.customer x, lite.customer y, pg.orders o WHERE o.o_custkey = x.c_custkey "
        "AND o.o_custkey = y.c_nationkey AND x.c_acctbal > 0",
        sources,
    )
    assert len([f for f in self_join.fetches if f.source == "lite"]) == 2  # x is filtered, y is not


def test_only_used_columns_fetched(planner, sources):
    plan = planner.plan("SELECT count(*) FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey",
                        sources)
    assert fetch_of(plan, "lite").columns == ("c_custkey",)
    assert fetch_of(plan, "pg").columns == ("o_custkey",)
    assert plan.output_columns == ("count_star()",)


def test_explain_text_and_dict(planner, sources):
    plan = planner.plan("SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey",
                        sources)
    text = plan.explain()
    assert "-- [1] lite (sqlite, table: lite.customer)" in text
    assert "-- DuckDB (isolated, in-memory)" in text
    data = plan.to_dict()
    assert [f["source"] for f in data["fetches"]] == ["lite", "pg"]
    assert data["residual_sql"] == plan.residual_sql


# --------------------------------------------------------------------------- names and errors


def test_unqualified_and_three_part_names(planner, sources):
    plan = planner.plan("SELECT count(*) FROM orders o JOIN pg.public.lineitem l ON l.l_orderkey = o.o_orderkey",
                        sources)
    assert plan.passthrough and plan.fetches[0].source == "pg"
    assert set(plan.fetches[0].tables) == {"pg.public.orders", "pg.public.lineitem"}


def test_unknown_connection_suggests(planner, sources):
    with pytest.raises(ConnectionNotFound, match="Did you mean 'pg'") as info:
        planner.plan("SELECT * FROM pgg.orders", sources)
    assert isinstance(info.value, KeyError)


def test_unknown_table_suggests(planner, sources):
    with pytest.raises(TableNotFound, match="Did you mean 'lite.customer'"):
        planner.plan("SELECT * FROM lite.customers", sources)
    with pytest.raises(TableNotFound, match="Did you mean 'pg.public.lineitem'"):
        planner.plan("SELECT * FROM lineitems", sources)


def test_ambiguous_unqualified_table_names_candidates(planner, sources):
    with pytest.raises(UsageError, match=r"several connections: my\.customer, lite\.customer"):
        planner.plan("SELECT * FROM customer", sources)


def test_unknown_column_is_a_usage_error(planner, sources):
    with pytest.raises(UsageError, match="c_nmae"):
        planner.plan("SELECT c_nmae FROM lite.customer", sources)


def test_unsafe_sql_rejected_before_any_source_is_touched(tmp_path):
    shop = make_shop(tmp_path)
    touched = []
    shop.crm.list_tables = lambda: touched.append("list") or []  # type: ignore[method-assign]
    from dataask_jupyter.federation import Federator

    fed = Federator(cache=None)
    for bad in [
        "SELECT 1; DROP TABLE crm.customers",
        "DELETE FROM crm.customers",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "SELECT pg_sleep(5)",
    ]:
        with pytest.raises(UnsafeSQL):
            fed.run(bad, sources=shop.sources)
    assert shop.crm.calls == [] and shop.sales.calls == [] and touched == []


def test_generated_sql_is_revalidated(sources):
    seen = []

    def guard(sql, dialect):
        seen.append((dialect, sql))

    plan = Planner(guard=guard).plan(
        "SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey", sources
    )
    assert seen[0][0] == "duckdb"
    checked = {(d, s) for d, s in seen[1:]}
    assert {(f.dialect, f.sql) for f in plan.fetches} <= checked
    assert ("duckdb", plan.residual_sql) in checked


def test_guard_rejecting_generated_sql_stops_planning(sources):
    def guard(sql, dialect):
        if dialect == "postgres":
            raise UnsafeSQL("refused")

    with pytest.raises(UnsafeSQL):
        Planner(guard=guard).plan("SELECT o_orderkey FROM pg.orders", sources)


def test_non_select_and_bad_pushdown_level(planner, sources):
    with pytest.raises(UsageError):
        planner.plan("SELECT o_orderkey FROM pg.orders", sources, pushdown="everything")
    with pytest.raises((UsageError, UnsafeSQL), match="parse"):  # the guard parses first
        planner.plan("SELECT FROM WHERE (", sources)


@pytest.mark.parametrize(("sql", "source", "pushed"), [
    ("SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey "
     "WHERE substring(c.c_name, 1, 2) IN ('13', '31')", "lite", 'SUBSTRING("c"."c_name", 1, 2) IN'),
    ("SELECT p.p_name FROM duck.part p JOIN pg.lineitem l ON l.l_partkey = p.p_partkey "
     "WHERE substring(p.p_name, 1, 2) IN ('13', '31')", "duck", 'SUBSTRING("p"."p_name", 1, 2) IN'),
    ("SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey "
     "WHERE substring(o.o_comment, 2, 3) = 'abc'", "pg", 'SUBSTRING("o"."o_comment" FROM 2 FOR 3) ='),
])
def test_plain_substring_filters_are_pushed(planner, sources, sql, source, pushed):
    assert pushed in fetch_of(planner.plan(sql, sources), source).sql


def test_substring_with_other_bounds_stays_in_duckdb(planner, sources):
    sql = ("SELECT c.c_name FROM lite.customer c JOIN pg.orders o ON o.o_custkey = c.c_custkey "
           "WHERE substring(c.c_name, 0, 2) = '1' AND substring(c.c_name, c.c_custkey, 1) = '2'")
    plan = planner.plan(sql, sources)
    assert "SUBSTRING" not in fetch_of(plan, "lite").sql.upper()
    assert plan.residual_sql.count("SUBSTRING") == 2
