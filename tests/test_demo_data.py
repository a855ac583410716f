"""The demo databases built by ``dataask demo``: real SQLite and DuckDB files in tmp_path."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from dataask_jupyter import demo
from dataask_jupyter.demo import DEMO_CONNECTIONS, build_demo, read_meta
from dataask_jupyter.demo import vega as vega_module

FILES = ("shop_crm.sqlite", "shop_sales.duckdb", "vega.duckdb")
REGIONS = {"Europe", "North America", "Latin America", "Asia Pacific", "Middle East", "Africa"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("demo")
    build_demo(target)
    return target


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as con:
        return con.execute(sql).fetchall()


def duck_rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def content_hashes(target: Path, *, vega: bool = False) -> dict[str, str]:
    """sha256 of every table's rows in a fixed order, per file and table."""
    out = {}
    crm, sales = target / "shop_crm.sqlite", target / "shop_sales.duckdb"
    for table in ("regions", "customers"):
        out[f"crm.{table}"] = _digest(sqlite_rows(crm, f"SELECT * FROM {table} ORDER BY id"))
    for table in ("products", "orders", "order_items"):
        out[f"sales.{table}"] = _digest(duck_rows(sales, f"SELECT * FROM {table} ORDER BY id"))
    if vega:
        for (table,) in duck_rows(target / "vega.duckdb", "SELECT table_name FROM duckdb_tables()"):
            out[f"vega.{table}"] = _digest(duck_rows(target / "vega.duckdb", f'SELECT * FROM "{table}" ORDER BY ALL'))
    return out


def _digest(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_returns_urls_for_the_three_connections(tmp_path):
    urls = build_demo(tmp_path / "d", include_vega=False)
    root = (tmp_path / "d").resolve()
    assert urls == {"shop_crm": f"sqlite:///{root}/shop_crm.sqlite",
                    "shop_sales": f"duckdb:///{root}/shop_sales.duckdb"}
    assert not (root / "vega.duckdb").exists()
    assert [name for name, _ in DEMO_CONNECTIONS] == ["shop_crm", "shop_sales", "vega"]
    assert all(isinstance(text, str) and text for _, text in DEMO_CONNECTIONS)


def test_same_seed_gives_identical_contents_and_other_seed_differs(built, tmp_path):
    build_demo(tmp_path / "again", seed=7)
    build_demo(tmp_path / "other", seed=8, include_vega=False)
    first = content_hashes(built, vega=True)
    assert content_hashes(tmp_path / "again", vega=True) == first
    other = content_hashes(tmp_path / "other")
    assert all(other[key] != first[key] for key in ("crm.customers", "sales.orders", "sales.order_items"))


def test_row_counts_in_range(built):
    crm, sales = built / "shop_crm.sqlite", built / "shop_sales.duckdb"
    assert sqlite_rows(crm, "SELECT COUNT(*) FROM regions") == [(6,)]
    (customers,), = sqlite_rows(crm, "SELECT COUNT(*) FROM customers")
    assert 700 <= customers <= 900
    counts = dict(duck_rows(sales, "SELECT 'products', COUNT(*) FROM products UNION ALL "
                                   "SELECT 'orders', COUNT(*) FROM orders UNION ALL "
                                   "SELECT 'order_items', COUNT(*) FROM order_items"))
    assert 50 <= counts["products"] <= 80
    assert 5000 <= counts["orders"] <= 7000
    assert 12000 <= counts["order_items"] <= 18000


def test_referential_integrity_across_and_within_databases(built):
    customer_ids = [row[0] for row in sqlite_rows(built / "shop_crm.sqlite", "SELECT id FROM customers")]
    with duckdb.connect(str(built / "shop_sales.duckdb"), read_only=True) as con:
        con.execute("CREATE TEMP TABLE crm_ids (id INTEGER)")
        con.executemany("INSERT INTO crm_ids VALUES (?)", [(i,) for i in customer_ids])
        orphans = con.execute("SELECT COUNT(*) FROM orders WHERE customer_id NOT IN (SELECT id FROM crm_ids)")
        assert orphans.fetchone() == (0,)
        assert con.execute("SELECT COUNT(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id "
                           "WHERE o.id IS NULL").fetchone() == (0,)
        assert con.execute("SELECT COUNT(*) FROM order_items i LEFT JOIN products p ON p.id = i.product_id "
                           "WHERE p.id IS NULL").fetchone() == (0,)
        assert con.execute("SELECT COUNT(*) FROM orders o WHERE NOT EXISTS "
                           "(SELECT 1 FROM order_items i WHERE i.order_id = o.id)").fetchone() == (0,)
    fk = sqlite_rows(built / "shop_crm.sqlite", "PRAGMA foreign_key_list(customers)")
    assert any(row[2] == "regions" and row[3] == "region" for row in fk)
    with closing(sqlite3.connect(built / "shop_crm.sqlite")) as con:
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []


def test_order_amount_is_sum_of_items_after_discount(built):
    rows = duck_rows(built / "shop_sales.duckdb", """
        SELECT COUNT(*) FROM orders o JOIN (
            SELECT order_id, ROUND(SUM(quantity * unit_price * (1 - discount)), 2) AS total
            FROM order_items GROUP BY order_id) t ON t.order_id = o.id
        WHERE o.amount <> t.total""")
    assert rows == [(0,)]
    assert duck_rows(built / "shop_sales.duckdb", "SELECT MIN(amount) > 0 FROM orders") == [(True,)]


def test_dates_span_2022_to_mid_2025(built):
    sales = built / "shop_sales.duckdb"
    (lo, hi), = duck_rows(sales, "SELECT MIN(order_date), MAX(order_date) FROM orders")
    assert dt.date(2022, 1, 1) <= lo < dt.date(2022, 1, 15)
    assert dt.date(2025, 6, 15) < hi <= dt.date(2025, 6, 30)
    years = [y for (y,) in duck_rows(sales, "SELECT DISTINCT year(order_date) FROM orders ORDER BY 1")]
    assert years == [2022, 2023, 2024, 2025]
    q4, q1 = duck_rows(sales, "SELECT SUM(amount) FILTER (quarter(order_date) = 4), "
                              "SUM(amount) FILTER (quarter(order_date) = 1) FROM orders "
                              "WHERE year(order_date) = 2024")[0]
    assert q4 > q1  # Q4 peak
    signups = sqlite_rows(built / "shop_crm.sqlite", "SELECT MIN(signup_date), MAX(signup_date) FROM customers")
    assert signups[0][0] >= "2021-01-01" and signups[0][1] <= "2025-06-30"


def test_every_region_has_customers_and_revenue_differs(built):
    crm = built / "shop_crm.sqlite"
    assert {name for (name,) in sqlite_rows(crm, "SELECT DISTINCT region FROM customers")} == REGIONS
    assert {name for (name,) in sqlite_rows(crm, "SELECT name FROM regions")} == REGIONS
    region_of = dict(sqlite_rows(crm, "SELECT id, region FROM customers"))
    revenue: dict[tuple[str, int], float] = {}
    for cid, year, amount in duck_rows(built / "shop_sales.duckdb",
                                       "SELECT customer_id, year(order_date), SUM(amount) FROM orders "
                                       "WHERE status IN ('completed', 'shipped') GROUP BY ALL"):
        key = (region_of[cid], year)
        revenue[key] = revenue.get(key, 0) + float(amount)
    by_2024 = sorted(REGIONS, key=lambda r: revenue[(r, 2024)], reverse=True)
    assert revenue[(by_2024[0], 2024)] > 3 * revenue[(by_2024[-1], 2024)]
    changes = [revenue[(r, 2024)] / revenue[(r, 2023)] - 1 for r in REGIONS]
    assert max(changes) - min(changes) > 0.3  # some regions grow, some shrink


def test_sales_columns_have_comments(built):
    comments = dict(duck_rows(built / "shop_sales.duckdb",
                              "SELECT table_name || '.' || column_name, comment FROM duckdb_columns() "
                              "WHERE comment IS NOT NULL"))
    assert comments["orders.amount"] == "Order total in USD after discounts"
    assert "shop_crm.customers" in comments["orders.customer_id"]


def test_vega_tables_are_typed_and_complete(built):
    path = built / "vega.duckdb"
    tables = {t for (t,) in duck_rows(path, "SELECT table_name FROM duckdb_tables()")}
    expected = {vega_module.snake_case(name) for name in vega_module.VEGA_TABLES} | {demo.META_TABLE}
    assert tables == expected
    for table, count in {"iris": 150, "cars": 406, "seattle_weather": 1461, "stocks": 560}.items():
        assert duck_rows(path, f"SELECT COUNT(*) FROM {table}") == [(count,)]
    types = dict(duck_rows(path, "SELECT table_name || '.' || column_name, data_type FROM duckdb_columns()"))
    assert types["seattle_weather.date"] == "DATE"
    assert types["seattle_temps.date"] == "TIMESTAMP"
    assert types["us_employment.month"] == "DATE"
    assert types["iris.sepal_length"] == "DOUBLE"
    assert types["cars.horsepower"] == "INTEGER"
    assert "iowa_electricity.net_generation" in types


def test_vega_loading_never_touches_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("network access while loading vega datasets")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.setattr("vega_datasets.core.urlopen", no_network)
    tables = vega_module.load_vega_tables()
    assert len(tables) == len(vega_module.VEGA_TABLES)


def test_second_call_does_not_rebuild(tmp_path):
    build_demo(tmp_path)
    before = {name: os.stat(tmp_path / name).st_mtime_ns for name in FILES}
    build_demo(tmp_path)
    assert {name: os.stat(tmp_path / name).st_mtime_ns for name in FILES} == before
    build_demo(tmp_path, overwrite=True, include_vega=False)
    after = {name: os.stat(tmp_path / name).st_mtime_ns for name in FILES}
    assert after["vega.duckdb"] == before["vega.duckdb"]
    assert after["shop_sales.duckdb"] != before["shop_sales.duckdb"]


def test_incomplete_or_other_seed_files_are_rebuilt(tmp_path):
    build_demo(tmp_path, include_vega=False)
    with duckdb.connect(str(tmp_path / "shop_sales.duckdb")) as con:
        con.execute("DELETE FROM order_items WHERE id > 100")
    (tmp_path / "shop_crm.sqlite").write_bytes(b"not a database")
    build_demo(tmp_path, include_vega=False)
    assert content_hashes(tmp_path)["sales.order_items"] == content_hashes(_fresh(tmp_path))["sales.order_items"]
    assert read_meta(tmp_path / "shop_crm.sqlite")["seed"] == "7"
    build_demo(tmp_path, seed=11, include_vega=False)
    assert read_meta(tmp_path / "shop_sales.duckdb")["seed"] == "11"


def _fresh(tmp_path: Path) -> Path:
    target = tmp_path / "fresh"
    build_demo(target, include_vega=False)
    return target


def test_failure_mid_build_leaves_no_partial_or_temp_files(tmp_path, monkeypatch):
    def half_then_fail(path: Path, tables=None) -> None:
        path.write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(vega_module, "write_vega", half_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        build_demo(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failed_rebuild_keeps_the_previous_files(tmp_path, monkeypatch):
    build_demo(tmp_path, include_vega=False)
    before = content_hashes(tmp_path)

    def fail(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(demo.shop, "write_sales", fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        build_demo(tmp_path, overwrite=True, include_vega=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop_crm.sqlite", "shop_sales.duckdb"]
    assert content_hashes(tmp_path) == before
