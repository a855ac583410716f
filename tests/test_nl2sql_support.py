"""Shared helpers for the nl2sql tests (no tests here).

``local_federation`` is the ``run_federated`` callable the tests inject: it ATTACHes the
SQLite and DuckDB files read-only into an in-memory DuckDB whose schema names are the
connection names, so ``connection.table`` SQL runs end to end without the federation
package. ``build_other_schemas`` writes a library (DuckDB) and a flights (SQLite) database
with names unlike the demo's, for the generalization eval.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import numpy as np
import pyarrow as pa

__all__ = ["build_other_schemas", "local_federation"]


def _sqlite_extension() -> str:
    import duckdb_extension_sqlite

    root = Path(duckdb_extension_sqlite.__file__).parent
    return str(next(root.rglob("*.duckdb_extension")))


def local_federation(urls: dict[str, str]):
    """A ``run_federated(sql) -> pyarrow.Table`` over local SQLite/DuckDB files, read-only.

    Every executed statement is recorded in ``run_federated.executed``.
    """
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": "false",
                                             "autoload_known_extensions": "false"})
    con.execute(f"INSTALL '{_sqlite_extension()}'")
    con.execute("LOAD sqlite")
    for name, url in urls.items():
        path = "/" + urlparse(url).path.lstrip("/")
        kind = "sqlite" if url.startswith("sqlite") else "duckdb"
        opts = "TYPE sqlite, READ_ONLY" if kind == "sqlite" else "READ_ONLY"
        con.execute(f"ATTACH '{path}' AS {name} ({opts})")
    lock = threading.Lock()

    def run_federated(sql: str):
        run_federated.executed.append(sql)
        with lock:
            return con.cursor().execute(sql).to_arrow_table()

    run_federated.executed = []
    run_federated.connection = con
    return run_federated


def build_other_schemas(root: Path, seed: int = 11) -> dict[str, str]:
    """Write ``library.duckdb`` and ``transit.sqlite`` under ``root``; return connection URLs."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lib = root / "library.duckdb"
    if lib.exists():
        lib.unlink()
    countries = ["Canada", "Ireland", "Nigeria", "Chile", "Japan"]
    genres = ["Mystery", "Fantasy", "Biography", "Poetry", "Science"]
    cities = ["Springfield", "Riverton", "Lakeside", "Hillview"]
    plans = ["basic", "premium", "student"]
    with duckdb.connect(str(lib)) as con:
        con.execute("""
            CREATE TABLE authors (id INTEGER PRIMARY KEY, name VARCHAR, country VARCHAR, birth_year INTEGER);
            CREATE TABLE books (id INTEGER PRIMARY KEY, title VARCHAR, author_id INTEGER REFERENCES authors(id),
                genre VARCHAR, published_year INTEGER, pages INTEGER, price DECIMAL(8,2));
            CREATE TABLE members (member_id INTEGER PRIMARY KEY, full_name VARCHAR, city VARCHAR,
                joined_on DATE, membership VARCHAR);
            CREATE TABLE loans (loan_id INTEGER PRIMARY KEY, book_id INTEGER, member_id INTEGER,
                loaned_at TIMESTAMP, returned_on DATE, late_fee DOUBLE);
        """)
        con.execute("COMMENT ON COLUMN loans.late_fee IS 'Fee charged when the book came back late, in EUR'")
        authors = [(i, f"Author {i:02d}", countries[int(rng.integers(5))], int(rng.integers(1930, 1995)))
                   for i in range(1, 41)]
        books = [(i, f"Book {i:03d}", int(rng.integers(1, 41)), genres[int(rng.integers(5))],
                  int(rng.integers(1960, 2024)), int(rng.integers(90, 900)), round(float(rng.uniform(5, 60)), 2))
                 for i in range(1, 201)]
        start = dt.date(2021, 1, 1)
        members = [(i, f"Member {i:03d}", cities[int(rng.integers(4))],
                    start + dt.timedelta(days=int(rng.integers(0, 1400))), plans[int(rng.integers(3))])
                   for i in range(1, 151)]
        t0 = dt.datetime(2022, 1, 1, 9)
        loans = []
        for i in range(1, 2001):
            out = t0 + dt.timedelta(hours=int(rng.integers(0, 24 * 900)))
            back = (out + dt.timedelta(days=int(rng.integers(3, 40)))).date() if rng.random() > 0.08 else None
            fee = round(max(0.0, ((back - out.date()).days - 21) * 0.5), 2) if back else 0.0
            loans.append((i, int(rng.integers(1, 201)), int(rng.integers(1, 151)), out, back, fee))
        for table, rows in (("authors", authors), ("books", books), ("members", members), ("loans", loans)):
            data = pa.table({f"c{i}": list(col) for i, col in enumerate(zip(*rows, strict=True))})
            con.register("incoming", data)
            con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
            con.unregister("incoming")
        con.execute("CHECKPOINT")
    transit = root / "transit.sqlite"
    if transit.exists():
        transit.unlink()
    airports = ["JFK", "LAX", "ORD", "ATL", "SEA", "DEN"]
    statuses = ["on time", "delayed", "cancelled"]
    with closing(sqlite3.connect(transit)) as con, con:
        con.executescript("""
            CREATE TABLE airlines (code TEXT PRIMARY KEY, airline_name TEXT NOT NULL, country TEXT);
            CREATE TABLE flights (flight_id INTEGER PRIMARY KEY, airline_code TEXT REFERENCES airlines(code),
                origin TEXT, destination TEXT, departure_date DATE, distance_km INTEGER, passengers INTEGER,
                delay_minutes INTEGER, status TEXT);
        """)
        con.executemany("INSERT INTO airlines VALUES (?, ?, ?)", [
            ("BL", "Bluebird Air", "USA"), ("NS", "Northstar", "Canada"), ("SW", "Swiftwing", "USA"),
            ("CR", "Coral Airways", "Mexico")])
        codes = ["BL", "NS", "SW", "CR"]
        rows = []
        d0 = dt.date(2023, 1, 1)
        for i in range(1, 1501):
            o, dest = rng.choice(len(airports), size=2, replace=False)
            status = statuses[int(rng.choice(3, p=[0.7, 0.25, 0.05]))]
            delay = 0 if status == "on time" else (int(rng.integers(15, 240)) if status == "delayed" else 0)
            rows.append((i, codes[int(rng.integers(4))], airports[o], airports[dest],
                         (d0 + dt.timedelta(days=int(rng.integers(0, 700)))).isoformat(),
                         int(rng.integers(300, 4500)), int(rng.integers(40, 320)), delay, status))
        con.executemany("INSERT INTO flights VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return {"library": f"duckdb:///{lib}", "transit": f"sqlite:///{transit}"}


def demo_setup(base: Path, name: str = "demo"):
    """``(DataAsk, urls, Asker)`` over the demo databases (files shared under ``base``)."""
    from dataask_jupyter.config import Settings
    from dataask_jupyter.core import DataAsk
    from dataask_jupyter.demo import build_demo
    from dataask_jupyter.nl2sql import Asker

    urls = build_demo(base / "nl2sql_demo_data")
    da = DataAsk(Settings(home=base / f"home_{name}"))
    for conn, url in urls.items():
        da.connect(conn, url, replace=True)
    runner = local_federation({k: v for k, v in urls.items() if k != "vega"})
    return da, urls, Asker.from_dataask(da, run_federated=runner)


def other_setup(base: Path, *, with_demo: bool = False):
    """``(DataAsk, urls, Asker)`` over the library/transit databases of :func:`build_other_schemas`
    (plus the demo connections with ``with_demo``)."""
    from dataask_jupyter.config import Settings
    from dataask_jupyter.core import DataAsk
    from dataask_jupyter.demo import build_demo
    from dataask_jupyter.nl2sql import Asker

    urls = build_other_schemas(base / "nl2sql_other_data")
    if with_demo:
        urls = {**build_demo(base / "nl2sql_demo_data"), **urls}
    da = DataAsk(Settings(home=base / ("home_other_demo" if with_demo else "home_other")))
    for conn, url in urls.items():
        da.connect(conn, url, replace=True)
    fed = {k: v for k, v in urls.items() if k != "vega"}
    return da, urls, Asker.from_dataask(da, run_federated=local_federation(fed))
