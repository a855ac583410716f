"""TPC-H across three databases: DataAsk's federation engine against DuckDB ATTACH.

Run (one command; PostgreSQL comes from ``DATAASK_TEST_PG_URL`` or ``scripts/services.sh``)::

    python benchmarks/federation_tpch.py --sf 1          # the reported run
    python benchmarks/federation_tpch.py --sf 0.1 --queries 5,9,18   # quick look
    python benchmarks/federation_tpch.py --sf 1 --repeat 3   # best of 3 alternating runs per side

Before timing, every table is read once (OS page cache warm for both sides) and DataAsk's
connections are opened; "cold" below means the result cache is off.

The split (generated once per scale factor with DuckDB's tpch extension and reused):

* PostgreSQL: ``lineitem``, ``orders`` (primary keys, VACUUM ANALYZE)  -> connection ``tpch_pg``
* SQLite: ``customer``, ``nation``, ``region``                   -> connection ``tpch_sqlite``
* DuckDB: ``part``, ``partsupp``, ``supplier``                   -> connection ``tpch_duck``

The 22 TPC-H queries (DuckDB's own text, tables qualified as ``<connection>.<table>``) run
through ``DataAsk.federate`` -- the same path as ``%%federate`` -- with the result cache off
(cold). Every result is checked against the same query on one DuckDB file holding all
tables. In the same run the same qualified queries are timed through DuckDB ATTACH of the
same split (``postgres`` and ``sqlite`` scanners, the DuckDB file attached read-only), the
baseline the ratios are against. Warm-cache numbers (second run with the cache on) are
printed separately.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _services import postgres_admin_url  # noqa: E402

PLACEMENT = {
    "lineitem": "tpch_pg", "orders": "tpch_pg",
    "customer": "tpch_sqlite", "nation": "tpch_sqlite", "region": "tpch_sqlite",
    "part": "tpch_duck", "partsupp": "tpch_duck", "supplier": "tpch_duck",
}
PG_KEYS = {"lineitem": "l_orderkey, l_linenumber", "orders": "o_orderkey"}


# -- setup ------------------------------------------------------------------------------------------------
def _extension(name: str) -> str:
    module = __import__(f"duckdb_extension_{name}")
    return str(next(Path(module.__file__).parent.rglob("*.duckdb_extension")))


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"INSTALL '{_extension(name)}'")
    con.execute(f"LOAD {name}")


def _with_db(url: str, db: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + db


def _libpq(url: str) -> str:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    return (f"host={u.hostname} port={u.port or 5432} user={u.username} password={u.password} "
            f"dbname={u.path.lstrip('/')}")


def prepare(sf: float, workdir: Path, admin_url: str) -> dict:
    """Generate (once) and split TPC-H at ``sf``; return paths and URLs."""
    import psycopg

    tag = f"sf{sf:g}".replace(".", "_")
    workdir.mkdir(parents=True, exist_ok=True)
    full, sqlite_path, duck_path = workdir / "full.duckdb", workdir / "split.sqlite", workdir / "split.duckdb"
    db = f"tpch_{tag}"
    pg_url = _with_db(admin_url, db)
    marker = workdir / "READY"
    ready = marker.exists() and json.loads(marker.read_text()).get("pg_url") == pg_url
    if ready:
        try:
            with psycopg.connect(pg_url, connect_timeout=5) as con:
                con.execute("SELECT 1 FROM lineitem LIMIT 1")
        except psycopg.Error:
            ready = False
    if ready:
        return {"full": full, "sqlite": sqlite_path, "duck": duck_path, "pg_url": pg_url}

    print(f"preparing TPC-H SF {sf:g} in {workdir} (once) ...", flush=True)
    t0 = time.perf_counter()
    for path in (full, sqlite_path, duck_path):
        path.unlink(missing_ok=True)
    con = duckdb.connect(str(full))
    load_extension(con, "tpch")
    con.execute(f"CALL dbgen(sf={sf})")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.execute(f'CREATE DATABASE "{db}"')
    load_extension(con, "postgres")
    load_extension(con, "sqlite")
    con.execute(f"ATTACH '{_libpq(pg_url)}' AS pgw (TYPE postgres)")
    con.execute(f"ATTACH '{sqlite_path}' AS sqw (TYPE sqlite)")
    con.execute(f"ATTACH '{duck_path}' AS dkw")
    for table, conn in PLACEMENT.items():
        target = {"tpch_pg": "pgw", "tpch_sqlite": "sqw", "tpch_duck": "dkw"}[conn]
        # SQLite has no DECIMAL: money goes in as REAL, as a real SQLite application stores it
        select = "*" if target != "sqw" else ", ".join(
            f"CAST({c} AS DOUBLE) AS {c}" if t.startswith("DECIMAL") else c
            for c, t in con.execute(f"SELECT column_name, data_type FROM duckdb_columns() "
                                    f"WHERE database_name = 'full' AND table_name = '{table}'").fetchall())
        con.execute(f"CREATE TABLE {target}.{table} AS SELECT {select} FROM main.{table}")
    con.execute("DETACH pgw")
    con.execute("DETACH sqw")
    con.execute("DETACH dkw")
    con.close()
    with psycopg.connect(pg_url, autocommit=True) as pg:
        for table, keys in PG_KEYS.items():
            pg.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({keys})")
            pg.execute(f"VACUUM (ANALYZE) {table}")
    import sqlite3

    with sqlite3.connect(sqlite_path) as lite:  # keys, as a real CRM database would have
        lite.execute("CREATE UNIQUE INDEX IF NOT EXISTS customer_pk ON customer (c_custkey)")
        lite.execute("CREATE UNIQUE INDEX IF NOT EXISTS nation_pk ON nation (n_nationkey)")
        lite.execute("ANALYZE")
    marker.write_text(json.dumps({"pg_url": pg_url, "sf": sf}))
    print(f"prepared in {time.perf_counter() - t0:.0f} s", flush=True)
    return {"full": full, "sqlite": sqlite_path, "duck": duck_path, "pg_url": pg_url}


def warm_up(paths: dict) -> None:
    """Read every table once so neither side pays for a cold OS page cache (both run after this)."""
    import psycopg

    with psycopg.connect(paths["pg_url"], autocommit=True) as pg:
        # count(*) would read only the primary key once the visibility map is set: read the heap
        for setting in ("enable_indexonlyscan", "enable_indexscan", "enable_bitmapscan"):
            pg.execute(f"SET {setting} = off")
        for table, conn in PLACEMENT.items():
            if conn == "tpch_pg":
                pg.execute(f"VACUUM {table}")  # hint bits and visibility map set now, not by the first query timed
                pg.execute(f"SELECT count(*) FROM {table}").fetchone()
    for key in ("sqlite", "duck"):
        with open(paths[key], "rb") as f:
            while f.read(1 << 24):
                pass


def tpch_queries() -> dict[int, str]:
    con = duckdb.connect()
    load_extension(con, "tpch")
    return {int(n): q for n, q in con.execute("SELECT query_nr, query FROM tpch_queries()").fetchall()}


def qualify(sql: str) -> str:
    """Prefix every TPC-H table with its connection name (CTE names are left alone)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in PLACEMENT and table.name not in ctes and not table.args.get("db"):
            table.set("db", exp.to_identifier(PLACEMENT[table.name]))
    return tree.sql("duckdb")


# -- comparing results ------------------------------------------------------------------------------------
def _norm(value):
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 2)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def same_rows(got: list[tuple], want: list[tuple], ordered: bool) -> tuple[bool, str]:
    if len(got) != len(want):
        return False, f"{len(got)} rows, expected {len(want)}"
    a = [tuple(_norm(v) for v in r) for r in got]
    b = [tuple(_norm(v) for v in r) for r in want]
    if not ordered:
        a, b = sorted(a, key=repr), sorted(b, key=repr)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x == y:
            continue
        close = len(x) == len(y) and all(
            u == v or (isinstance(u, float) and isinstance(v, float) and math.isclose(u, v, rel_tol=1e-9, abs_tol=0.011))
            for u, v in zip(x, y, strict=True))
        if not close:
            return False, f"row {i}: {x} != {y}"
    return True, ""


# -- the three ways to run a query --------------------------------------------------------------------------
def truth(full: Path, queries: dict[int, str]) -> dict[int, list[tuple]]:
    con = duckdb.connect(str(full), read_only=True)
    return {n: con.execute(q).fetchall() for n, q in queries.items()}


def attach_connection(paths: dict) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_extension(con, "postgres")
    load_extension(con, "sqlite")
    con.execute(f"ATTACH '{_libpq(paths['pg_url'])}' AS tpch_pg (TYPE postgres, READ_ONLY)")
    con.execute(f"ATTACH '{paths['sqlite']}' AS tpch_sqlite (TYPE sqlite, READ_ONLY)")
    con.execute(f"ATTACH '{paths['duck']}' AS tpch_duck (READ_ONLY)")
    return con


def _best(kept: dict | None, new: dict, *, partial: bool = False) -> dict:
    """Per query, the faster of two runs (its rows are checked either way: they must agree).

    ``partial``: ``new`` holds only some queries; the others are kept as they are.
    """
    if kept is None:
        return dict(new)

    def pick(a, b):
        if isinstance(a[1], str) or isinstance(b[1], str):  # an error in any run is reported
            return a if isinstance(a[1], str) else b
        return min(a, b, key=lambda run: run[0])

    merged = dict(kept) if partial else {}
    merged.update({n: pick(kept[n], new[n]) if n in kept else new[n] for n in new})
    return merged


def run_attach(paths: dict, qualified: dict[int, str], timeout: float) -> dict[int, tuple[float, list | str]]:
    out = {}
    for n, sql in qualified.items():
        con = attach_connection(paths)  # cold per query, like ours
        timer = _Interrupter(con, timeout)
        t0 = time.perf_counter()
        try:
            rows: list | str = con.execute(sql).fetchall()
        except duckdb.InterruptException:
            rows = f"over {timeout:g} s (interrupted)"
        finally:
            timer.cancel()
        out[n] = (time.perf_counter() - t0, rows)
        con.close()
        print(f"  attach Q{n:02d} {out[n][0]:7.2f} s", flush=True)
    return out


class _Interrupter:
    def __init__(self, con, seconds: float) -> None:
        import threading

        self._timer = threading.Timer(seconds, con.interrupt)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


def make_dataask(paths: dict, home: Path):
    from dataask_jupyter.config import Settings
    from dataask_jupyter.core import DataAsk

    da = DataAsk(Settings.from_env(home=home, store_url=None, max_rows=100_000, max_fetch_rows=100_000_000,
                                   query_timeout=600.0))
    da.connect("tpch_pg", paths["pg_url"])
    da.connect("tpch_sqlite", f"sqlite:///{paths['sqlite']}")
    da.connect("tpch_duck", f"duckdb:///{paths['duck']}")
    return da


def run_ours(da, qualified: dict[int, str], *, use_cache: bool, timeout: float) -> dict[int, tuple[float, list | str, dict]]:
    out = {}
    for n, sql in qualified.items():
        t0 = time.perf_counter()
        try:
            result = da.federate(sql, use_cache=use_cache, timeout=timeout)
            rows: list | str = [tuple(r) for r in result.rows()]
            info = {"fetch": result.seconds.get("fetch"), "join": result.seconds.get("join"),
                    "rows_moved": sum(s.rows for s in result.plan), "cache": result.cache}
        except Exception as err:  # report, keep going
            rows, info = f"{type(err).__name__}: {err}", {}
        out[n] = (time.perf_counter() - t0, rows, info)
        print(f"  ours   Q{n:02d} {out[n][0]:7.2f} s  {info}", flush=True)
    return out


# -- report -------------------------------------------------------------------------------------------------
def report(queries, want, ours, attach, warm) -> dict:
    print()
    print(f"{'query':>5} {'correct':>8} {'ours s':>8} {'attach s':>9} {'ratio':>7} {'warm s':>8}  rows moved")
    ratios, lines = [], []
    for n in queries:
        secs, rows, info = ours[n]
        ok, why = (False, rows) if isinstance(rows, str) else same_rows(rows, want[n], ordered=True)
        a_secs, a_rows = attach[n] if attach else (float("nan"), None)
        ratio = secs / a_secs if attach else float("nan")
        ratios.append(ratio)
        w = warm[n][0] if warm else float("nan")
        print(f"Q{n:02d}  {('yes' if ok else 'NO'):>8} {secs:8.2f} {a_secs:9.2f} {ratio:7.2f} {w:8.3f}  "
              f"{info.get('rows_moved', '-')}" + ("" if ok else f"   <- {why[:150]}"))
        lines.append({"query": n, "correct": ok, "ours": secs, "attach": a_secs, "ratio": ratio, "warm": w})
    total = sum(ours[n][0] for n in queries)
    a_total = sum(attach[n][0] for n in queries) if attach else float("nan")
    correct = sum(1 for ln in lines if ln["correct"])
    print()
    print(f"correct: {correct}/{len(queries)}")
    print(f"total (cold): ours {total:.1f} s, ATTACH {a_total:.1f} s, ratio {total / a_total:.3f}")
    print(f"median per-query ratio: {statistics.median(ratios):.2f}")
    print(f"slowest query (ours): Q{max(queries, key=lambda n: ours[n][0]):02d} "
          f"{max(ours[n][0] for n in queries):.2f} s")
    if warm:
        print(f"total (warm cache): {sum(warm[n][0] for n in queries):.3f} s")
    return {"correct": correct, "total": total, "attach_total": a_total, "lines": lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--queries", default="", help="comma-separated query numbers (default: all 22)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where generated data is kept between runs (default: $TMPDIR/dataask-tpch/sf<SF>)")
    parser.add_argument("--no-attach", action="store_true", help="skip the DuckDB ATTACH baseline")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm-cache run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per query, each side")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--repeat", type=int, default=1,
                        help="cold runs per side and query, ours and ATTACH taking turns query by query; each "
                             "query's best time is reported (default 1; use 3 on a shared machine)")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.gettempdir()) / "dataask-tpch" / f"sf{args.sf:g}"
    paths = prepare(args.sf, workdir, postgres_admin_url())
    texts = tpch_queries()
    wanted = [int(q) for q in args.queries.split(",") if q.strip()] or sorted(texts)
    queries = {n: texts[n] for n in wanted}
    qualified = {n: qualify(q) for n, q in queries.items()}
    print(f"TPC-H SF {args.sf:g}, {len(queries)} queries, {platform.machine()} {os.cpu_count()} cores, "
          f"duckdb {duckdb.__version__}", flush=True)

    want = truth(paths["full"], queries)
    warm_up(paths)
    with tempfile.TemporaryDirectory(prefix="dataask-tpch-home-") as home:
        da = make_dataask(paths, Path(home))
        for name in ("tpch_pg", "tpch_sqlite", "tpch_duck"):
            da.connections.test(name)  # connections open before timing, as in a running notebook
        try:
            ours, attach = None, None
            if args.repeat <= 1:
                print("DataAsk federation (cold: cache off) ...", flush=True)
                ours = run_ours(da, qualified, use_cache=False, timeout=args.timeout)
                if not args.no_attach:
                    print("DuckDB ATTACH baseline ...", flush=True)
                    attach = run_attach(paths, qualified, args.timeout)
            else:
                # query by query, the two sides take turns, so a slow minute on this machine hits
                # both sides' runs of the same query rather than one side's whole run
                print(f"cold runs, {args.repeat} per side, alternating per query ...", flush=True)
                for n, sql in qualified.items():
                    for _ in range(args.repeat):
                        ours = _best(ours, run_ours(da, {n: sql}, use_cache=False, timeout=args.timeout), partial=True)
                        if not args.no_attach:
                            attach = _best(attach, run_attach(paths, {n: sql}, args.timeout), partial=True)
            warm = None
            if not args.no_warm:
                print("DataAsk federation (warm: cache on, second run) ...", flush=True)
                run_ours(da, qualified, use_cache=True, timeout=args.timeout)
                warm = run_ours(da, qualified, use_cache=True, timeout=args.timeout)
        finally:
            da.close()
    summary = report(list(queries), want, ours, attach, warm)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))
    return 0 if summary["correct"] == len(queries) else 1


if __name__ == "__main__":
    sys.exit(main())
