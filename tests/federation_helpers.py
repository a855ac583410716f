"""Real federation sources for tests: a SQLite file (sqlite3) and a DuckDB file (read-only).

Also a slow source (sleeps in ``fetch_arrow`` until cancelled), a failing source whose
driver error contains credentials, and :func:`make_shop` which writes one synthetic
dataset into a SQLite CRM, a DuckDB sales file, and a reference DuckDB holding every
table (the ground truth the federated answers are compared with).

Imported explicitly (``from tests.federation_helpers import ...``); not a pytest plugin.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from dataask_jupyter.federation.sources import DBAPISource


class SQLiteSource(DBAPISource):
    """A SQLite file opened read-only per fetch; ``cancel`` calls ``sqlite3.Connection.interrupt``."""

    def __init__(self, name: str, path: Path, *, identity: str | None = None) -> None:
        uri = f"file:{path}?mode=ro"
        super().__init__(
            name,
            "sqlite",
            identity or f"sqlite:///{path}",
            lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
        )
        self.path = Path(path)
        self.calls: list[str] = []
        self.cancels = 0

    def list_tables(self) -> list[str]:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        return [r[0] for r in rows]

    def table_columns(self, table: str) -> dict[str, str]:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as conn:
            rows = conn.execute(f"PRAGMA table_info(\"{table.replace(chr(34), '')}\")").fetchall()
        return {r[1]: r[2] for r in rows}

    def fetch_arrow(self, sql, *, timeout=None, max_rows=None):
        self.calls.append(sql)
        return super().fetch_arrow(sql, timeout=timeout, max_rows=max_rows)

    def _prepare(self, conn, timeout):
        if timeout is not None:
            deadline = time.monotonic() + timeout
            conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)

    def _interrupt(self, conn):
        conn.interrupt()

    def cancel(self) -> None:
        self.cancels += 1
        super().cancel()


class DuckDBSource:
    """A DuckDB file opened read-only per fetch; ``cancel`` interrupts running queries."""

    dialect = "duckdb"

    def __init__(self, name: str, path: Path, *, identity: str | None = None) -> None:
        self.name = name
        self.path = Path(path)
        self.identity = identity or f"duckdb:///{path}"
        self.calls: list[str] = []
        self.cancels = 0
        self._lock = threading.Lock()
        self._active: set[duckdb.DuckDBPyConnection] = set()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), read_only=True)

    def list_tables(self) -> list[str]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "ORDER BY table_schema, table_name"
            ).fetchall()
        return [t if s == "main" else f"{s}.{t}" for s, t in rows]

    def table_columns(self, table: str) -> dict[str, str]:
        schema, _, name = table.rpartition(".")
        with self._connect() as con:
            rows = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema or "main", name],
            ).fetchall()
        return {c: t for c, t in rows}

    def fetch_arrow(self, sql, *, timeout=None, max_rows=None):
        self.calls.append(sql)
        con = self._connect()
        with self._lock:
            self._active.add(con)
        timer = threading.Timer(timeout, con.interrupt) if timeout else None
        try:
            if timer:
                timer.start()
            result = con.execute(sql)
            if max_rows is None:
                return result.to_arrow_table()
            reader = result.to_arrow_reader(max(1, min(max_rows, 100_000)))
            batches, rows = [], 0
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows >= max_rows:
                    break
            return pa.Table.from_batches(batches, schema=reader.schema).slice(0, max_rows)
        finally:
            if timer:
                timer.cancel()
            with self._lock:
                self._active.discard(con)
            con.close()

    def cancel(self) -> None:
        self.cancels += 1
        with self._lock:
            active = list(self._active)
        for con in active:
            con.interrupt()


class SlowSource:
    """Sleeps in ``fetch_arrow`` until cancelled (or ``hold`` seconds pass)."""

    def __init__(self, name: str = "slow", *, dialect: str = "duckdb", hold: float = 30.0) -> None:
        self.name = name
        self.dialect = dialect
        self.identity = f"slow://{name}"
        self.hold = hold
        self.calls: list[str] = []
        self.cancels = 0
        self.started = threading.Event()
        self._cancelled = threading.Event()

    def list_tables(self) -> list[str]:
        return ["events"]

    def table_columns(self, table: str) -> dict[str, str]:
        return {"id": "INTEGER", "kind": "VARCHAR"}

    def fetch_arrow(self, sql, *, timeout=None, max_rows=None):
        self.calls.append(sql)
        self._cancelled.clear()
        self.started.set()
        if self._cancelled.wait(self.hold):
            raise RuntimeError("canceling statement due to user request")
        return pa.table({"id": pa.array([1], pa.int32()), "kind": ["a"]})

    def cancel(self) -> None:
        self.cancels += 1
        self._cancelled.set()


class FailingSource:
    """A source whose driver error leaks a URI and a password."""

    dialect = "postgres"

    def __init__(self, name: str = "broken", secret: str = "Hunter2Secret") -> None:
        self.name = name
        self.identity = f"postgresql://alice@db.example/{name}"
        self.secret = secret
        self.calls: list[str] = []
        self.cancels = 0

    def list_tables(self) -> list[str]:
        return ["public.accounts"]

    def table_columns(self, table: str) -> dict[str, str]:
        return {"id": "integer", "owner": "text"}

    def fetch_arrow(self, sql, *, timeout=None, max_rows=None):
        self.calls.append(sql)
        raise RuntimeError(
            f"connection to postgresql://alice:{self.secret}@db.example:5432/{self.name} failed: "
            f"FATAL password authentication failed (password={self.secret})"
        )

    def cancel(self) -> None:
        self.cancels += 1


# --------------------------------------------------------------------------- dataset

CRM_DDL = {
    "customers": "id INTEGER, name TEXT, region TEXT, segment TEXT, signup_date DATE, score REAL",
    "segments": "code TEXT, label TEXT, priority INTEGER",
    "notes": "id INTEGER, customer_id INTEGER, body TEXT",
}
SALES_DDL = {
    "orders": "id INTEGER, customer_id INTEGER, amount DECIMAL(10,2), order_date DATE, status VARCHAR",
    "items": "order_id INTEGER, product_id INTEGER, qty INTEGER",
    "products": "id INTEGER, name VARCHAR, category VARCHAR, price DOUBLE",
    "notes": "id INTEGER, order_id INTEGER, body VARCHAR",
}
STATS_DDL = {"targets": "region VARCHAR, year INTEGER, target DOUBLE"}


@dataclass
class Shop:
    """Paths and sources of the synthetic shop."""

    crm: SQLiteSource
    sales: DuckDBSource
    reference: duckdb.DuckDBPyConnection

    @property
    def sources(self) -> dict[str, object]:
        return {"crm": self.crm, "sales": self.sales}

    def expected(self, sql: str) -> pa.Table:
        """The same SQL on one DuckDB holding every table (catalogs ``crm`` and ``sales``)."""
        return self.reference.execute(sql).to_arrow_table()


def _rows(seed: int = 7) -> dict[str, list[tuple]]:
    rnd = random.Random(seed)
    regions = ["North", "South", "east", "East", None]
    segments = [("ent", "Enterprise", 1), ("smb", "Small business", 2), ("con", "Consumer", 3), ("ENT", "Upper ent", 4)]
    names = ["Alice", "alice", "Bob", "Carol", "dave", "Eve", "O'Brien", "Zoë", "Ann%", "bob"]
    customers = []
    for i in range(1, 61):
        signup = dt.date(2022, 1, 1) + dt.timedelta(days=rnd.randrange(0, 900))
        customers.append((
            i, f"{rnd.choice(names)} {i}" if i % 7 else names[i % len(names)], rnd.choice(regions),
            rnd.choice(["ent", "smb", "con", None]), signup if i % 11 else None,
            None if i % 13 == 0 else round(rnd.uniform(0, 100), 2),
        ))
    categories = ["Tools", "tools", "Garden", "Kitchen", None]
    products = [(i, f"Product {i}", rnd.choice(categories), round(rnd.uniform(1, 300), 2)) for i in range(1, 26)]
    orders, items = [], []
    for i in range(1, 401):
        cust = rnd.randrange(1, 75) if i % 17 else None  # some customers unknown to the CRM
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rnd.randrange(0, 700))
        amount = Decimal(str(round(rnd.uniform(5, 900), 2))) if i % 19 else None
        orders.append((i, cust, amount, day, rnd.choice(["paid", "open", "Paid", "refunded"])))
        for _ in range(rnd.randrange(0, 4)):
            items.append((i, rnd.randrange(1, 30), rnd.randrange(1, 6)))
    crm_notes = [(i, rnd.randrange(1, 61), f"note {i}") for i in range(1, 21)]
    sales_notes = [(i, rnd.randrange(1, 401), f"order note {i}") for i in range(1, 21)]
    targets = [(r, y, float(t)) for r in ["North", "South", "East"] for y, t in ((2023, 5000), (2024, 7000))]
    return {
        "customers": customers, "segments": segments, "crm_notes": crm_notes, "orders": orders,
        "items": items, "products": products, "sales_notes": sales_notes, "targets": targets,
    }


def _sqlite_value(v):
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Bulk insert through Arrow (``executemany`` is slow in DuckDB)."""
    columns = list(zip(*rows, strict=True))
    data = pa.Table.from_arrays([pa.array(c) for c in columns], names=[f"c{i}" for i in range(len(columns))])
    con.register("__rows", data)
    con.execute(f"INSERT INTO {table} SELECT * FROM __rows")
    con.unregister("__rows")


def make_shop(tmp_path: Path, seed: int = 7) -> Shop:
    """Write the shop: ``crm`` (SQLite), ``sales`` (DuckDB) and an all-in-one reference DuckDB."""
    data = _rows(seed)
    crm_path, sales_path = tmp_path / "crm.sqlite", tmp_path / "sales.duckdb"
    crm_tables = {"customers": data["customers"], "segments": data["segments"], "notes": data["crm_notes"]}
    sales_tables = {"orders": data["orders"], "items": data["items"], "products": data["products"],
                    "notes": data["sales_notes"]}
    with sqlite3.connect(crm_path) as conn:
        for table, rows in crm_tables.items():
            conn.execute(f"CREATE TABLE {table} ({CRM_DDL[table]})")
            marks = ",".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", [tuple(map(_sqlite_value, r)) for r in rows])
    conn.close()
    with duckdb.connect(str(sales_path)) as con:
        for table, rows in sales_tables.items():
            con.execute(f"CREATE TABLE {table} ({SALES_DDL[table]})")
            _insert(con, table, rows)
        con.execute("CREATE SCHEMA stats")
        con.execute(f"CREATE TABLE stats.targets ({STATS_DDL['targets']})")
        _insert(con, "stats.targets", data["targets"])
    ref = duckdb.connect(":memory:")
    ref.execute("ATTACH ':memory:' AS crm")
    ref.execute("ATTACH ':memory:' AS sales")
    for table, rows in crm_tables.items():
        ref.execute(f"CREATE TABLE crm.{table} ({CRM_DDL[table].replace('REAL', 'DOUBLE')})")
        _insert(ref, f"crm.{table}", rows)
    for table, rows in sales_tables.items():
        ref.execute(f"CREATE TABLE sales.{table} ({SALES_DDL[table]})")
        _insert(ref, f"sales.{table}", rows)
    ref.execute("CREATE SCHEMA sales.stats")
    ref.execute(f"CREATE TABLE sales.stats.targets ({STATS_DDL['targets']})")
    _insert(ref, "sales.stats.targets", data["targets"])
    return Shop(crm=SQLiteSource("crm", crm_path), sales=DuckDBSource("sales", sales_path), reference=ref)


# --------------------------------------------------------------------------- comparing


def _norm(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (float, Decimal)):
        return round(float(value), 6)
    if isinstance(value, bool):
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def table_rows(table: pa.Table) -> list[tuple]:
    """Rows of ``table`` with floats/decimals rounded and dates as ISO strings."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [tuple(_norm(v) for v in row) for row in zip(*columns, strict=True)] if columns else []


def same_rows(got: pa.Table, want: pa.Table, *, ordered: bool) -> bool:
    """Compare two results as lists (``ordered``) or multisets of normalized rows."""
    a, b = table_rows(got), table_rows(want)
    if ordered:
        return a == b
    key = lambda r: tuple((v is None, str(type(v)), v if v is not None else 0) for v in r)  # noqa: E731
    return sorted(a, key=key) == sorted(b, key=key)


class StaticSource:
    """Schema only (for planner tests in dialects without a live server); fetching fails loudly."""

    def __init__(self, name: str, dialect: str, tables: dict[str, dict[str, str]]) -> None:
        self.name = name
        self.dialect = dialect
        self.identity = f"static://{name}"
        self.tables = tables
        self.calls: list[str] = []

    def list_tables(self) -> list[str]:
        return list(self.tables)

    def table_columns(self, table: str) -> dict[str, str]:
        return dict(self.tables[table])

    def fetch_arrow(self, sql, *, timeout=None, max_rows=None):
        self.calls.append(sql)
        raise AssertionError("StaticSource cannot fetch")

    def cancel(self) -> None:
        pass


def dialect_sources() -> dict[str, StaticSource]:
    """One source per dialect with TPC-H-like tables (planner snapshot tests)."""
    orders = {"o_orderkey": "integer", "o_custkey": "integer", "o_orderstatus": "character(1)",
              "o_totalprice": "numeric(15,2)", "o_orderdate": "date", "o_comment": "character varying(79)"}
    lineitem = {"l_orderkey": "integer", "l_partkey": "integer", "l_quantity": "numeric(15,2)",
                "l_extendedprice": "numeric(15,2)", "l_discount": "numeric(15,2)", "l_shipdate": "date"}
    customer = {"c_custkey": "INTEGER", "c_name": "VARCHAR(25)", "c_nationkey": "INTEGER",
                "c_mktsegment": "CHAR(10)", "c_acctbal": "DECIMAL(15,2)"}
    nation = {"n_nationkey": "INTEGER", "n_name": "TEXT", "n_regionkey": "INTEGER"}
    part = {"p_partkey": "INTEGER", "p_name": "VARCHAR", "p_type": "VARCHAR", "p_size": "INTEGER"}
    return {
        "pg": StaticSource("pg", "postgres", {"public.orders": orders, "public.lineitem": lineitem}),
        "my": StaticSource("my", "mysql", {"customer": customer, "nation": nation}),
        "lite": StaticSource("lite", "sqlite", {"customer": customer, "nation": nation}),
        "duck": StaticSource("duck", "duckdb", {"part": part}),
    }
