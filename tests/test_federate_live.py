"""`%%federate` end to end over managed connections: PostgreSQL + MariaDB + SQLite + DuckDB.

Every result is compared with the same query on one DuckDB that holds all the tables.
"""

from __future__ import annotations

import random
import sqlite3
from decimal import Decimal

import duckdb
import psycopg
import pymysql
import pytest
from sqlalchemy.engine import make_url

from tests.foundation_fixtures import make_app

pytestmark = pytest.mark.integration

RNG = random.Random(11)
REGIONS = [(i, name) for i, name in enumerate(["north", "south", "east", "west"], start=1)]
CUSTOMERS = [(i, f"cust{i}", RNG.randint(1, 4), RNG.choice(["a", "b", "c"])) for i in range(1, 201)]
ORDERS = [(i, RNG.randint(1, 200), Decimal(RNG.randint(100, 99999)) / 100, f"2024-{RNG.randint(1, 12):02d}-15")
          for i in range(1, 2001)]
ITEMS = [(i, RNG.randint(1, 2000), RNG.randint(1, 9)) for i in range(1, 3001)]

QUERIES = [
    "SELECT r.name, count(*) AS n FROM lite.regions r JOIN pg.customers c ON c.region_id = r.id GROUP BY 1 ORDER BY 1",
    "SELECT c.segment, sum(o.amount) AS revenue FROM pg.customers c JOIN maria.orders o ON o.customer_id = c.id "
    "WHERE o.order_date >= DATE '2024-06-01' GROUP BY 1 ORDER BY 1",
    "SELECT r.name, sum(i.qty) AS qty FROM lite.regions r JOIN pg.customers c ON c.region_id = r.id "
    "JOIN maria.orders o ON o.customer_id = c.id JOIN duck.items i ON i.order_id = o.id GROUP BY 1 ORDER BY 2 DESC",
    "SELECT c.name FROM pg.customers c LEFT JOIN maria.orders o ON o.customer_id = c.id WHERE o.id IS NULL ORDER BY 1",
    "SELECT count(*) AS n FROM maria.orders WHERE customer_id IN (SELECT id FROM pg.customers WHERE segment = 'a')",
    "SELECT c.id, c.name FROM pg.customers c WHERE c.segment = 'b' ORDER BY c.id LIMIT 5",
    # correlated EXISTS / NOT EXISTS that run at their own source (PostgreSQL, MariaDB)
    "SELECT c.name, r.name FROM pg.customers c JOIN lite.regions r ON r.id = c.region_id WHERE EXISTS "
    "(SELECT 1 FROM pg.customers c2 WHERE c2.region_id = c.region_id AND c2.id <> c.id AND c2.segment = 'a') "
    "ORDER BY 1, 2",
    "SELECT o.id, c.name FROM maria.orders o JOIN pg.customers c ON c.id = o.customer_id WHERE NOT EXISTS "
    "(SELECT 1 FROM maria.orders o2 WHERE o2.customer_id = o.customer_id AND o2.amount > o.amount) ORDER BY 1",
    # a fetch read only by IN (SELECT ...): DISTINCT at the source
    "SELECT r.name FROM lite.regions r WHERE r.id IN (SELECT c.region_id FROM pg.customers c "
    "WHERE c.segment = 'b') ORDER BY 1",
]


@pytest.fixture
def federated_app(tmp_path, fresh_pg_db, fresh_mysql_db):
    with psycopg.connect(make_url(fresh_pg_db).set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as con:
        con.execute("CREATE TABLE customers (id int PRIMARY KEY, name text, region_id int, segment text)")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s)", CUSTOMERS)
    u = make_url(fresh_mysql_db)
    con = pymysql.connect(host=u.host, port=u.port, user=u.username, password=u.password, database=u.database)
    with con.cursor() as cur:
        cur.execute("CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount decimal(10,2), order_date date)")
        cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", ORDERS)
    con.commit()
    con.close()
    lite = tmp_path / "lite.sqlite"
    with sqlite3.connect(lite) as c:
        c.execute("CREATE TABLE regions (id INTEGER PRIMARY KEY, name TEXT)")
        c.executemany("INSERT INTO regions VALUES (?, ?)", REGIONS)
    duck = tmp_path / "duck.duckdb"
    with duckdb.connect(str(duck)) as c:
        c.execute("CREATE TABLE items (id INTEGER, order_id INTEGER, qty INTEGER)")
        c.executemany("INSERT INTO items VALUES (?, ?, ?)", ITEMS)
    with make_app(tmp_path / "home") as app:
        app.connect("pg", fresh_pg_db)
        app.connect("maria", fresh_mysql_db)
        app.connect("lite", f"sqlite:///{lite}")
        app.connect("duck", f"duckdb:///{duck}")
        yield app


def _truth(sql: str) -> list[tuple]:
    con = duckdb.connect()
    for schema in ("pg", "maria", "lite", "duck"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute("CREATE TABLE lite.regions (id INTEGER, name VARCHAR)")
    con.executemany("INSERT INTO lite.regions VALUES (?, ?)", REGIONS)
    con.execute("CREATE TABLE pg.customers (id INTEGER, name VARCHAR, region_id INTEGER, segment VARCHAR)")
    con.executemany("INSERT INTO pg.customers VALUES (?, ?, ?, ?)", CUSTOMERS)
    con.execute("CREATE TABLE maria.orders (id INTEGER, customer_id INTEGER, amount DECIMAL(10,2), order_date DATE)")
    con.executemany("INSERT INTO maria.orders VALUES (?, ?, ?, ?)", ORDERS)
    con.execute("CREATE TABLE duck.items (id INTEGER, order_id INTEGER, qty INTEGER)")
    con.executemany("INSERT INTO duck.items VALUES (?, ?, ?)", ITEMS)
    return con.execute(sql).fetchall()


def _norm(rows):
    return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


@pytest.mark.parametrize("sql", QUERIES)
def test_federated_matches_single_duckdb(federated_app, sql):
    result = federated_app.federate(sql, use_cache=False)
    got, want = _norm([tuple(r) for r in result.rows()]), _norm(_truth(sql))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):  # numbers approximately (sums of decimals), the rest exactly
        assert len(g) == len(w)
        for a, b in zip(g, w, strict=True):
            assert a == pytest.approx(b) if isinstance(a, int | float) and isinstance(b, int | float) else a == b
    assert {s.source for s in result.plan} <= {"pg", "maria", "lite", "duck"}


@pytest.mark.parametrize(("sql", "cut"), [
    # a selective SQLite side cuts what PostgreSQL sends (PostgreSQL gets one array literal)
    ("SELECT c.id, c.name FROM lite.regions r JOIN pg.customers c ON c.region_id = r.id "
     "WHERE r.name = 'north' ORDER BY 1", "pg"),
    # a selective PostgreSQL side cuts what MariaDB sends (an IN list)
    ("SELECT o.id, o.amount FROM maria.orders o JOIN pg.customers c ON c.id = o.customer_id "
     "WHERE c.segment = 'a' AND c.region_id = 2 ORDER BY 1", "maria"),
])
def test_semi_join_reduction_on_real_servers(federated_app, sql, cut):
    result = federated_app.federate(sql, use_cache=False)
    assert _norm([tuple(r) for r in result.rows()]) == _norm(_truth(sql))
    stat = next(s for s in result.plan if s.source == cut)
    assert "keys from" in stat.sql
    whole = {"pg": len(CUSTOMERS), "maria": len(ORDERS)}[cut]
    assert 0 < stat.rows < whole / 2


def test_exists_runs_at_its_source_on_postgres(federated_app):
    plan = federated_app.federate(QUERIES[-3], explain=True)
    pg = [f.sql for f in plan.fetches if f.source == "pg"]
    assert len(pg) == 1 and "EXISTS(" in pg[0] and "EXISTS" not in plan.residual_sql
    distinct = federated_app.federate(QUERIES[-1], explain=True)
    assert any(f.sql.startswith("SELECT DISTINCT") for f in distinct.fetches if f.source == "pg")


def test_pushdown_reaches_each_dialect_and_usage_is_counted(federated_app):
    sql = QUERIES[1]
    plan = federated_app.federate(sql, explain=True)
    by_source = {f.source: f.sql for f in plan.fetches}
    assert "2024-06-01" in by_source["maria"]  # the date filter runs in MariaDB
    assert "amount" in by_source["maria"] and "segment" in by_source["pg"]
    before = federated_app.connections.info("maria").usage.queries
    first = federated_app.federate(sql)
    second = federated_app.federate(sql)
    assert (first.cache, second.cache) == ("miss", "hit")
    assert federated_app.connections.info("maria").usage.queries == before + 1  # the hit touched no source


def test_source_down_gives_clear_error_then_recovers(federated_app, pg_server):
    sql = QUERIES[0]
    pg_server.stop()
    try:
        from dataask_jupyter.errors import SourceError

        with pytest.raises(SourceError) as info:
            federated_app.federate(sql, use_cache=False)
        assert "pg" in str(info.value) and "dataask-test-pw" not in str(info.value)
    finally:
        pg_server.start()
    assert federated_app.federate(sql, use_cache=False).row_count == 4


def test_federate_magic(federated_app, tmp_path, monkeypatch, capsys):
    from dataask_magics import DataAskMagics
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    magics = DataAskMagics(shell=shell, app=federated_app)
    shell.register_magics(magics)
    shell.run_cell_magic("federate", "-o out --no-cache", QUERIES[0])
    assert list(shell.user_ns["out"]["name"]) == ["east", "north", "south", "west"]
    assert shell.user_ns["_"] is shell.user_ns["out"]
    shell.run_cell_magic("federate", "", "SELECT * FROM pg.custmers")
    err = capsys.readouterr().err
    assert "customers" in err and "Traceback" not in err
    shell.run_cell_magic("federate", "", "DELETE FROM pg.customers")
    assert "not allowed" in capsys.readouterr().err
