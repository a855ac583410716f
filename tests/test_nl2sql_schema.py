"""Schema catalog: tables, keys, relationships (declared, by name, across connections), comments, values."""

from __future__ import annotations

import datetime as dt

import pytest

from dataask_jupyter.nl2sql.linking import SchemaIndex
from dataask_jupyter.nl2sql.retrieval import retrieve
from dataask_jupyter.nl2sql.schema import ColumnInfo, SchemaCatalog, TableInfo, column_kind
from tests.test_nl2sql_support import demo_setup


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    da, urls, asker = demo_setup(tmp_path_factory.getbasetemp(), "schema")
    yield da, asker.catalog()
    da.close()


def test_internal_tables_are_hidden(demo):
    _, cat = demo
    assert not [k for k in cat.tables if k[1].startswith("_")]
    assert ("shop_sales", "orders") in cat.tables and ("vega", "iris") in cat.tables


def test_primary_keys_declared_in_sqlite_and_duckdb(demo):
    _, cat = demo
    assert cat.tables[("shop_crm", "customers")].primary_key == ["id"]
    assert cat.tables[("shop_sales", "orders")].primary_key == ["id"]


def test_relationships_declared_and_inferred_across_connections(demo):
    _, cat = demo
    rels = {r.describe() for r in cat.relationships}
    assert "shop_sales.order_items.order_id -> shop_sales.orders.id (declared)" in rels  # duckdb_constraints()
    assert "shop_crm.customers.region -> shop_crm.regions.name (declared)" in rels  # SQLite DDL
    assert "shop_sales.orders.customer_id -> shop_crm.customers.id (name)" in rels  # x_id -> xs.id, other db
    cross = [r for r in cat.relationships if r.cross_connection]
    assert len(cross) == 1


def test_comments_and_low_cardinality_values(demo):
    _, cat = demo
    orders = cat.tables[("shop_sales", "orders")]
    assert orders.columns["amount"].comment == "Order total in USD after discounts"
    assert orders.comment.startswith("One row per customer order")
    assert set(orders.columns["status"].values) == {"completed", "shipped", "cancelled", "returned"}
    customers = cat.tables[("shop_crm", "customers")]
    assert "Europe" in customers.columns["region"].values
    assert customers.columns["email"].values is None  # high cardinality: not sampled
    assert customers.columns["is_active"].is_flag


def test_date_range_and_value_probe_are_cached(demo):
    _, cat = demo
    assert cat.date_range(("shop_sales", "orders"), "order_date") == (dt.date(2022, 1, 1), dt.date(2025, 6, 30))
    assert ("city", "Tokyo") in cat.probe_values(("shop_crm", "customers"), ["tokyo"])
    assert cat.probe_values(("shop_crm", "customers"), ["tokyo"]) is cat.probe_values(("shop_crm", "customers"),
                                                                                      ["tokyo"])


def test_retrieval_ranks_relevant_tables(demo):
    _, cat = demo
    ranked = retrieve(cat, SchemaIndex(cat), "average petal length per species", with_neighbors=False)
    assert ranked.top(1) == [("vega", "iris")]
    ranked = retrieve(cat, SchemaIndex(cat), "revenue by region in Europe")
    top = ranked.top(4)
    assert ("shop_sales", "orders") in top and ("shop_crm", "customers") in top
    assert "Europe" in ranked.values[("shop_crm", "customers")]["region"]


def test_subset_and_sqlglot_schema(demo):
    _, cat = demo
    sub = cat.subset(["vega"])
    assert sub.connections == ["vega"]
    fed = cat.sqlglot_schema(True)
    assert "orders" in fed["shop_sales"] and "customers" in fed["shop_crm"]


def test_name_inference_without_a_manager():
    t1 = TableInfo("a", "authors", "duckdb", {"id": ColumnInfo("id", "int64", "number", primary_key=True),
                                                "name": ColumnInfo("name", "string", "text")})
    t2 = TableInfo("b", "books", "sqlite", {"id": ColumnInfo("id", "int64", "number", primary_key=True),
                                              "author_id": ColumnInfo("author_id", "int64", "number")})
    cat = SchemaCatalog([t1, t2])
    cat.infer_relationships()
    assert [r.describe() for r in cat.relationships] == ["b.books.author_id -> a.authors.id (name)"]
    assert cat.date_range(t1.key, "id") is None  # no runner: no look-ups


@pytest.mark.parametrize("dtype,kind", [("int64", "number"), ("decimal(10, 2)", "number"), ("string", "text"),
                                        ("date", "date"), ("timestamp('UTC')", "datetime"), ("boolean", "bool")])
def test_column_kind(dtype, kind):
    assert column_kind(dtype) == kind
