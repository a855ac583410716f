"""Prep preview latency: a 6-step flow on a 10M-row DuckDB table and a 1M-row PostgreSQL table.

Run (one command)::

    python benchmarks/prep_preview.py                 # DuckDB 10M + PostgreSQL 1M
    python benchmarks/prep_preview.py --no-pg --rows 2000000 --repeats 5   # quick

PostgreSQL comes from ``DATAASK_TEST_PG_URL`` or is started with ``scripts/services.sh start
postgres`` (URL read from ``scripts/services.sh env``); a scratch database is created and
dropped. For every step of the flow (source, join, filter, calc, aggregate, pivot, sort) it
times ``PrepSession.preview`` -- what the canvas calls: the first 100 rows with LIMIT at the
source; steps that must read every row (aggregate, pivot, sort) of a big source
run on a block sample (1M rows on DuckDB, 100k on PostgreSQL), marked ``sampled`` -- over ``--repeats`` runs after one
warm-up, p50/p95. Also per step: the bounded row count the canvas asks for next
(``PrepSession.count``), and for sampled steps the exact (unsampled) preview.

Baseline, measured in the same run: the same preview the pandas way -- pull both tables
with ibis ``to_pandas()`` and compute the step in pandas (median pull + median compute);
ratio = baseline / preview p50.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _services import postgres_admin_url  # noqa: E402

from dataask_jupyter.config import Settings  # noqa: E402
from dataask_jupyter.core import DataAsk  # noqa: E402
from dataask_jupyter.prep import api  # noqa: E402

REGIONS = ["Africa", "Asia", "Europe", "LatAm", "MidEast", "NorthAm"]
SEGMENTS = ["Consumer", "Enterprise", "SMB"]
N_CUSTOMERS = 100_000


def flow(connection: str) -> dict:
    return {"steps": [
        {"id": "source", "type": "source", "connection": connection, "table": "events"},
        {"id": "join", "type": "join", "right": {"connection": connection, "table": "customers"},
         "on": [["customer_id", "id"]], "how": "inner"},
        {"id": "filter", "type": "filter", "conditions": [
            {"column": "amount", "op": ">", "value": 20}, {"column": "status", "op": "!=", "value": "cancelled"}]},
        {"id": "calc", "type": "calculate", "name": "net", "expression": "amount * (1 - discount) - if(kind = 'b', 1.5, 0)"},
        {"id": "aggregate", "type": "aggregate", "group_by": ["region", "segment"],
         "measures": [{"column": "net", "function": "sum", "as": "revenue"}, {"function": "count", "as": "orders"}]},
        {"id": "pivot", "type": "pivot", "index": ["region"], "columns": "segment", "values": "revenue",
         "function": "sum", "column_values": SEGMENTS},
        {"id": "sort", "type": "sort", "by": [{"column": "region"}]},
    ]}


# -- data ------------------------------------------------------------------------------------------
def build_duckdb(path: Path, rows: int) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    regions = "[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
    segments = "[" + ", ".join(f"'{s}'" for s in SEGMENTS) + "]"
    con.execute(f"""CREATE TABLE customers AS SELECT range AS id, {regions}[1 + range % 6] AS region,
                    {segments}[1 + (range // 7) % 3] AS segment FROM range({N_CUSTOMERS})""")
    con.execute(f"""CREATE TABLE events AS SELECT range AS id, (range * 7919) % {N_CUSTOMERS} AS customer_id,
                    CAST(((range * 104729) % 100000) / 1000.0 AS DOUBLE) AS amount, CAST((range % 4) * 0.05 AS DOUBLE) AS discount,
                    CASE WHEN range % 17 = 0 THEN 'cancelled' ELSE 'completed' END AS status,
                    CASE WHEN range % 3 = 0 THEN 'b' ELSE 'a' END AS kind,
                    DATE '2022-01-01' + CAST(range % 1000 AS INTEGER) AS day FROM range({rows})""")
    con.close()


def build_postgres(url: str, rows: int) -> None:
    import psycopg

    regions = "ARRAY[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
    segments = "ARRAY[" + ", ".join(f"'{s}'" for s in SEGMENTS) + "]"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"""CREATE TABLE customers AS SELECT g AS id, ({regions})[1 + g % 6] AS region,
                        ({segments})[1 + (g / 7) % 3] AS segment FROM generate_series(0, {N_CUSTOMERS - 1}) g""")
        con.execute("ALTER TABLE customers ADD PRIMARY KEY (id)")
        con.execute(f"""CREATE TABLE events AS SELECT g::bigint AS id, (g::bigint * 7919) % {N_CUSTOMERS} AS customer_id,
                        ((g::bigint * 104729) % 100000) / 1000.0::double precision AS amount,
                        ((g % 4) * 0.05)::double precision AS discount,
                        CASE WHEN g % 17 = 0 THEN 'cancelled' ELSE 'completed' END AS status,
                        CASE WHEN g % 3 = 0 THEN 'b' ELSE 'a' END AS kind,
                        DATE '2022-01-01' + (g % 1000) AS day FROM generate_series(0, {rows - 1}) g""")
        con.execute("ANALYZE customers")
        con.execute("ANALYZE events")


# -- pandas baseline ------------------------------------------------------------------------------------
def pandas_step(events, customers, upto: int):
    """The same step in pandas on pulled tables, then its first 100 rows."""
    df = events
    if upto >= 2:
        df = df.merge(customers, left_on="customer_id", right_on="id", suffixes=("", "_right"))
    if upto >= 3:
        df = df[(df.amount > 20) & (df.status != "cancelled")]
    if upto >= 4:
        df = df.assign(net=df.amount * (1 - df.discount) - (df.kind == "b") * 1.5)
    if upto >= 5:
        df = df.groupby(["region", "segment"], as_index=False).agg(revenue=("net", "sum"), orders=("net", "size"))
    if upto >= 6:
        df = df.pivot_table(index="region", columns="segment", values="revenue", aggfunc="sum").reset_index()
    if upto >= 7:
        df = df.sort_values("region")
    return df.head(100), len(df)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bench(da: DataAsk, connection: str, repeats: int, baseline_repeats: int, exact_repeats: int,
          source_limit: int | str = "auto") -> list[dict]:
    f = flow(connection)
    session = api.PrepSession(da)  # what the canvas holds: schemas and compiled steps cached
    results = []
    for i, step in enumerate(f["steps"], start=1):
        session.preview(f, i, count=False, source_limit=source_limit)  # warm-up (compile cache, OS cache)
        times, last = [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            last = session.preview(f, i, count=False, source_limit=source_limit)  # the rows the canvas shows
            times.append(time.perf_counter() - t0)
        counts = [session.count(f, i) for _ in range(exact_repeats)]
        r = {"step": i, "id": step["id"], "p50": statistics.median(times), "p95": pct(times, 0.95),
             "rows": last.table.num_rows, "sampled": last.sampled,
             "count_p50": statistics.median(c.seconds for c in counts), "row_count": counts[-1].row_count,
             "capped": counts[-1].capped, "exact_p50": None}
        if last.sampled:
            exact = []
            for _ in range(exact_repeats):
                t0 = time.perf_counter()
                session.preview(f, i, count=False, source_limit=None)
                exact.append(time.perf_counter() - t0)
            r["exact_p50"] = statistics.median(exact)
        results.append(r)
    backend = da.connections.backend(connection)
    pulls, events, customers = [], None, None
    for _ in range(baseline_repeats):
        t0 = time.perf_counter()
        events = backend.table("events").to_pandas()
        customers = backend.table("customers").to_pandas()
        pulls.append(time.perf_counter() - t0)
    pull = statistics.median(pulls)
    for r in results:
        compute = []
        for _ in range(baseline_repeats):
            t0 = time.perf_counter()
            pandas_step(events, customers, r["step"])
            compute.append(time.perf_counter() - t0)
        r["baseline_pull"], r["baseline_compute"] = pull, statistics.median(compute)
        r["baseline"] = pull + r["baseline_compute"]
        r["ratio"] = r["baseline"] / r["p50"]
    return results


def report(title: str, results: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'step':<12}{'preview p50':>12}{'p95':>8}{'rows':>6}  {'sampled':<8}{'count ms':>9}{'row count':>12}"
          f"{'exact ms':>10}{'pandas ms':>11}{'(pull + compute)':>18}{'ratio':>8}")
    for r in results:
        count = "timeout" if r["row_count"] is None else f"{r['row_count']:,}{'+' if r['capped'] else ''}"
        exact = "-" if r["exact_p50"] is None else f"{r['exact_p50'] * 1000:.0f}"
        parts = f"({r['baseline_pull'] * 1000:.0f} + {r['baseline_compute'] * 1000:.0f})"
        print(f"{str(r['step']) + ' ' + r['id']:<12}{r['p50'] * 1000:>12.1f}{r['p95'] * 1000:>8.1f}{r['rows']:>6}  "
              f"{'yes' if r['sampled'] else 'no':<8}{r['count_p50'] * 1000:>9.0f}{count:>12}{exact:>10}"
              f"{r['baseline'] * 1000:>11.0f}{parts:>18}{r['ratio']:>7.1f}x")
    worst = max(r["p95"] for r in results)
    print(f"worst preview p95 {worst * 1000:.0f} ms: {'meets' if worst < 1 else 'MISSES'} the < 1 s target, "
          f"{'meets' if worst < 0.3 else 'misses'} the < 300 ms aim.  ms = milliseconds; "
          "ratio = pandas baseline / preview p50")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="DuckDB events rows (default 10M)")
    p.add_argument("--pg-rows", type=int, default=1_000_000, help="PostgreSQL events rows (default 1M)")
    p.add_argument("--repeats", type=int, default=15, help="timed previews per step (default 15)")
    p.add_argument("--baseline-repeats", type=int, default=3, help="pandas baseline runs (default 3)")
    p.add_argument("--exact-repeats", type=int, default=3, help="row-count and unsampled runs (default 3)")
    p.add_argument("--source-limit", default="auto",
                   help="rows of the source above which heavy steps preview on a sample (default: auto)")
    p.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    p.add_argument("--no-duckdb", action="store_true", help="skip DuckDB")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    limit = int(args.source_limit) if args.source_limit.isdigit() else args.source_limit
    import duckdb
    import ibis

    print(f"prep preview benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, ibis {ibis.__version__}, duckdb {duckdb.__version__}")
    out: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="dataask-prep-bench-") as tmp:
        tmp_path = Path(tmp)
        with DataAsk(Settings(home=tmp_path / "home", query_timeout=120.0)) as da:
            if not args.no_duckdb:
                t0 = time.perf_counter()
                build_duckdb(tmp_path / "bench.duckdb", args.rows)
                print(f"built DuckDB events ({args.rows:,} rows) + customers ({N_CUSTOMERS:,}) "
                      f"in {time.perf_counter() - t0:.1f} s")
                da.connect("bench_duck", f"duckdb:///{tmp_path / 'bench.duckdb'}")
                out["duckdb"] = bench(da, "bench_duck", args.repeats, args.baseline_repeats, args.exact_repeats, limit)
                report(f"DuckDB, events {args.rows:,} rows", out["duckdb"])
            if not args.no_pg:
                import psycopg

                admin = postgres_admin_url()
                name = f"dataask_bench_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(admin, autocommit=True) as con:
                    con.execute(f'CREATE DATABASE "{name}"')
                url = admin.rsplit("/", 1)[0] + "/" + name
                try:
                    t0 = time.perf_counter()
                    build_postgres(url, args.pg_rows)
                    print(f"\nbuilt PostgreSQL events ({args.pg_rows:,} rows) in {time.perf_counter() - t0:.1f} s")
                    da.connect("bench_pg", url)
                    out["postgres"] = bench(da, "bench_pg", args.repeats, args.baseline_repeats, args.exact_repeats, limit)
                    report(f"PostgreSQL, events {args.pg_rows:,} rows", out["postgres"])
                finally:
                    da.connections.remove("bench_pg") if "bench_pg" in da.connections.names() else None
                    with psycopg.connect(admin, autocommit=True) as con:
                        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
