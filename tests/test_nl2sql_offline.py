"""The offline engine: SQL shapes, time, joins, federation, not-understood, clarification, follow-ups, pairs."""

from __future__ import annotations

import pytest

from dataask_jupyter.errors import UnsafeSQL, UsageError
from dataask_jupyter.nl2sql import (
    Conversation,
    FederationUnavailable,
    InMemoryKnowledge,
    NeedsClarification,
    NotUnderstood,
)
from dataask_jupyter.nl2sql.base import GenerationRequest
from tests.test_nl2sql_support import demo_setup


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    da, urls, asker = demo_setup(tmp_path_factory.getbasetemp(), "offline")
    yield da, asker
    da.close()


def ask(env, question, **kw):
    return env[1].ask(question, chart=False, **kw)


def test_count_with_value_filter(env):
    r = ask(env, "How many customers are in Europe?")
    assert r.sql == "SELECT COUNT(*) AS customer_count\nFROM customers\nWHERE region = 'Europe'"
    assert r.engine == "offline" and not r.federated and r.connections == ["shop_crm"]
    assert r.rows == [[219]] or r.rows[0][0] > 0


def test_group_by_two_dimensions(env):
    r = ask(env, "number of orders by channel and status")
    assert r.columns == ["channel", "status", "order_count"] and r.row_count == 12
    assert "GROUP BY channel, status" in r.sql


def test_top_n_with_one_hop_join_and_product_measure(env):
    r = ask(env, "Top 5 products by revenue")
    assert "JOIN products AS p ON oi.product_id = p.id" in r.sql
    assert "SUM(oi.unit_price * oi.quantity)" in r.sql and r.sql.endswith("LIMIT 5")
    values = [row[1] for row in r.rows]
    assert values == sorted(values, reverse=True) and len(values) == 5


def test_numeric_comparison_and_yes_no_column(env):
    r = ask(env, "How many orders had an amount over 1000?")
    assert "WHERE amount > 1000" in r.sql
    r = ask(env, "How many active customers are there?")
    assert "WHERE is_active = 1" in r.sql


def test_relative_time_uses_latest_date_in_data(env):
    r = ask(env, "How many orders in the last 3 months?")
    assert "order_date >= '2025-04-01' AND order_date < '2025-07-01'" in r.sql
    assert any("relative to the latest date in the data, 2025-06-30" in n for n in r.explanation)


def test_time_bucket_in_the_connection_dialect(env):
    r = ask(env, "New customers per year")  # SQLite
    assert "strftime('%Y', signup_date)" in r.sql and r.columns == ["year", "customer_count"]
    r = ask(env, "Monthly revenue in 2024")  # DuckDB
    assert "date_trunc('month', order_date)" in r.sql and r.row_count == 12


def test_two_connections_give_federated_sql(env):
    r = ask(env, "Revenue by region")
    assert r.federated and r.connections == ["shop_crm", "shop_sales"]
    assert "FROM shop_sales.orders AS o" in r.sql and "JOIN shop_crm.customers AS c" in r.sql
    assert r.row_count == 6


def test_federation_needs_a_runner(env):
    da, asker = env
    from dataask_jupyter.nl2sql import Asker

    bare = Asker(da.connections, settings=da.settings, catalog=asker.catalog())
    with pytest.raises(FederationUnavailable) as info:
        bare.ask("Revenue by region")
    assert "shop_crm, shop_sales" in str(info.value)
    assert bare.ask("Revenue by region", run=False).table is None  # generating alone is fine


def test_comparison_question_from_the_issue(env):
    r = ask(env, "Which 5 regions had the highest revenue in 2024, and how did that change from 2023?")
    assert r.columns == ["region", "revenue_2024", "revenue_2023", "revenue_change_pct"]
    assert r.row_count == 5 and r.federated
    first = r.rows[0]
    assert first[3] == pytest.approx(100 * (first[1] - first[2]) / first[2])
    totals = [row[1] for row in r.rows]
    assert totals == sorted(totals, reverse=True)


def test_not_understood_names_the_words(env):
    with pytest.raises(NotUnderstood) as info:
        ask(env, "How many unicorns flew over the rainbow?")
    assert {"unicorns", "rainbow"} <= set(info.value.unmapped_words)
    assert "unicorns" in str(info.value)
    assert isinstance(info.value, UsageError)
    assert info.value.to_dict()["unmapped_words"]


def test_ambiguous_column_asks_back(env):
    with pytest.raises(NeedsClarification) as info:
        ask(env, "How many countries are there?")  # customers.country or airports.country
    assert set(info.value.candidates) == {"shop_crm.customers.country", "vega.airports.country"}
    r = ask(env, "How many countries are there?", connections=["shop_crm"])
    assert r.sql.startswith("SELECT COUNT(DISTINCT country)")


def test_follow_ups_reuse_the_conversation(env):
    conv = Conversation(asker="ana")
    first = ask(env, "Revenue by region in 2024", conversation=conv)
    assert first.intent == "data" and first.columns == ["region", "revenue"]
    by_month = ask(env, "now by month", conversation=conv)
    assert by_month.intent == "follow_up"
    assert by_month.columns == ["month", "revenue"] and by_month.row_count == 12
    europe = ask(env, "only for Europe", conversation=conv)
    assert "c.region = 'Europe'" in europe.sql and "date_trunc('month'" in europe.sql
    earlier = ask(env, "what about 2023", conversation=conv)
    assert "'2023-01-01'" in earlier.sql and "'2024-01-01'" in earlier.sql and "c.region = 'Europe'" in earlier.sql
    records = conv.to_records()
    assert [r["question"] for r in records] == ["Revenue by region in 2024", "now by month", "only for Europe",
                                               "what about 2023"]
    assert set(records[0]) >= {"question", "sql", "engine", "timings", "chart", "asker"}
    assert records[0]["asker"] == "ana"


def test_follow_up_without_context_is_not_guessed(env):
    with pytest.raises(NotUnderstood):
        ask(env, "now by month")


def test_taught_sql_pair_is_reused_and_still_validated(env):
    da, asker = env
    knowledge = InMemoryKnowledge()
    knowledge.add_sql_pair("default", "list the big spenders",
                           "SELECT customer_id, SUM(amount) AS spent FROM orders GROUP BY customer_id "
                           "HAVING SUM(amount) > 20000", connection="shop_sales")
    asker.knowledge = knowledge
    try:
        r = ask(env, "List the big spenders!")
        assert r.intent == "pair" and "HAVING SUM(amount) > 20000" in r.sql
        knowledge.add_sql_pair("default", "clean up old orders", "DELETE FROM orders", connection="shop_sales")
        with pytest.raises(UnsafeSQL):
            ask(env, "clean up old orders")
    finally:
        asker.knowledge = None
    assert da.sql("shop_sales", "SELECT COUNT(*) AS n FROM orders").table.column("n")[0].as_py() > 0


def test_engine_is_deterministic_and_fast(env):
    _, asker = env
    catalog = asker.catalog()
    sqls = {asker.offline.generate(GenerationRequest("Average miles per gallon by origin", catalog)).sql
            for _ in range(3)}
    assert len(sqls) == 1
    r = ask(env, "Average miles per gallon by origin")
    assert r.timings["generate"] < 0.5 and r.timings["total"] < 1.0


@pytest.mark.parametrize("question,expected", [
    ("the 5 heaviest cars", "ORDER BY weight_in_lbs DESC\nLIMIT 5"),
    ("How many cars have 8 cylinders?", "WHERE cylinders = 8"),
    ("What percentage of orders were returned?", "COUNT(CASE WHEN status = 'returned' THEN 1 END)"),
    ("How many customers have more than 10 orders?", "HAVING COUNT(*) > 10"),
    ("Share of revenue by channel", "SUM(SUM(amount)) OVER ()"),
    ("orders between 2023-06-01 and 2023-06-03", "order_date >= '2023-06-01' AND order_date < '2023-06-04'"),
    ("List customers in Tokyo", "WHERE city = 'Tokyo'"),  # a high-cardinality value found by a guarded look-up
    ("revenue by status excluding cancelled orders", "status <> 'cancelled'"),
])
def test_question_shapes(env, question, expected):
    assert expected in ask(env, question).sql


# -- SQL per dialect (compiled from one question, no database needed) ---------------------------------
def _shop_catalog(dialect: str):
    from dataask_jupyter.nl2sql.schema import ColumnInfo, SchemaCatalog, TableInfo

    def col(name, dtype, **kw):
        from dataask_jupyter.nl2sql.schema import column_kind

        return ColumnInfo(name, dtype, column_kind(dtype), **kw)

    sales = TableInfo("db", "Sales", dialect, {
        "id": col("id", "int64", primary_key=True), "store_id": col("store_id", "int64"),
        "sold_on": col("sold_on", "date"), "total": col("total", "float64"),
        "channel": col("channel", "string", values=("online", "shop"))})
    stores = TableInfo("db", "stores", dialect, {
        "id": col("id", "int64", primary_key=True), "name": col("name", "string"),
        "city": col("city", "string", values=("Lyon", "Oslo"))})
    catalog = SchemaCatalog([sales, stores])
    catalog.infer_relationships()
    return catalog


@pytest.mark.parametrize("dialect,bucket", [
    ("duckdb", "CAST(date_trunc('month', s.sold_on) AS DATE)"),
    ("sqlite", "date(s.sold_on, 'start of month')"),
    ("postgres", "CAST(date_trunc('month', s.sold_on) AS DATE)"),
    ("mysql", "CAST(DATE_FORMAT(s.sold_on, '%Y-%m-01') AS DATE)"),
])
def test_sql_per_dialect(dialect, bucket):
    import sqlglot

    from dataask_jupyter.nl2sql import OfflineEngine, validate_sql

    catalog = _shop_catalog(dialect)
    gen = OfflineEngine().generate(GenerationRequest("monthly total sales in Oslo for online in 2024", catalog))
    assert gen.dialect == dialect and not gen.federated
    assert bucket in gen.sql
    assert "SUM(s.total) AS total_sales" in gen.sql and "JOIN stores AS s1 ON s.store_id = s1.id" in gen.sql
    assert "s1.city = 'Oslo'" in gen.sql and "s.channel = 'online'" in gen.sql
    quoted = "`Sales`" if dialect == "mysql" else '"Sales"'
    assert f"FROM {quoted} AS s" in gen.sql  # mixed-case names are quoted
    sqlglot.parse_one(gen.sql, read=dialect)
    validate_sql(gen.sql, dialect=dialect, catalog=catalog, connection="db", federated=False)


def test_unknown_connection_is_reported(env):
    from dataask_jupyter.errors import ConnectionNotFound

    with pytest.raises(ConnectionNotFound):
        ask(env, "how many orders", connections=["shop_salez"])
