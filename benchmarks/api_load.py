"""Load benchmark of the DataAsk workspace API (issue 5), one command.

Starts a Jupyter Server with the DataAsk extension on a fresh store, creates a workspace
with 200 dashboards of 12 widgets, then runs 100 concurrent closed-loop clients for 30 s
that each repeat: list the workspace's dashboards, load one dashboard. Widget queries are
not run.

The same clients (same session, connection pool and loop) also run against a route of
jupyter_server itself that does no DataAsk work (``/api/status``: authentication and the
authorizer, like every DataAsk route), half of ``--baseline`` seconds before the DataAsk
phase and half after, so the machine's floor is measured in the same run and under the
same concurrency. It prints p50/p95/p99 and requests per second for both, the server's CPU
time per request (Linux), and the ratios DataAsk / baseline. Exit code 1 on any error.

    python benchmarks/api_load.py                       # 100 clients, 30 s, SQLite store
    python benchmarks/api_load.py --duration 10 --clients 50
    python benchmarks/api_load.py --store-url postgresql+psycopg://user:pw@host/db

Target (issue 5): 0 errors, p95 < 50 ms for list and load. With closed-loop clients and no
think time, the mean latency is clients / throughput (Little's law) for any route,
Jupyter's own included, so the ratio to the baseline is the number that says what the
DataAsk routes cost; use ``--think-ms`` to model users who pause.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, token: str, store_url: str | None) -> subprocess.Popen:
    """A Jupyter Server with only the DataAsk extension, logging warnings only."""
    env = {**os.environ, "DATAASK_HOME": str(home), "PYTHONPATH": os.pathsep.join(
        [str(REPO), str(REPO / "server_ext"), os.environ.get("PYTHONPATH", "")])}
    env.pop("DATAASK_STORE_URL", None)
    if store_url:
        env["DATAASK_STORE_URL"] = store_url
    config = home / "jupyter_server_config.json"
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"dataask_server": True}}}))
    cmd = [sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1", "--no-browser",
           f"--IdentityProvider.token={token}", "--ServerApp.log_level=WARN", f"--config={config}", "--allow-root",
           f"--ServerApp.root_dir={home}"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "w"))


async def wait_ready(session: aiohttp.ClientSession, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/dataask/api/templates") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.25)
    raise SystemExit("The server did not start; see server.log in the DATAASK_HOME folder.")


def _widgets(n: int) -> list[dict]:
    kinds = ["metric", "line", "bar", "area", "scatter", "pie", "table"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        out.append({"kind": kind, "title": f"Widget {i}", "position": {"x": (i % 3) * 4, "y": (i // 3) * 3,
                                                                       "w": 4, "h": 3},
                    "query": {"kind": "federated",
                              "sql": f"SELECT channel, SUM(amount) AS v{i} FROM shop_sales.orders GROUP BY channel"},
                    "spec": {"mark": "bar", "encoding": {"x": {"field": "channel"}, "y": {"field": f"v{i}"}}}})
    return out


async def seed(session: aiohttp.ClientSession, base: str, dashboards: int, widgets: int) -> tuple[int, list[int]]:
    async with session.post(f"{base}/dataask/api/workspaces", json={"name": f"bench-{secrets.token_hex(4)}"}) as r:
        ws = (await r.json())["id"]
    ids, body = [], _widgets(widgets)
    for i in range(dashboards):
        payload = {"name": f"Dashboard {i:03d}", "tags": [f"team{i % 5}"], "widgets": body}
        async with session.post(f"{base}/dataask/api/workspaces/{ws}/dashboards", json=payload) as r:
            assert r.status == 201, await r.text()
            ids.append((await r.json())["id"])
    return ws, ids


async def client(session, routes, stop_at, stats, errors, think: float = 0.0) -> None:
    """One closed-loop user: request each of ``routes`` (name, url factory) in turn until ``stop_at``."""
    if think:
        await asyncio.sleep(random.uniform(0, think))  # spread the users' start times
    while time.monotonic() < stop_at:
        if think:
            await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))
        for name, url in routes:
            started = time.perf_counter()
            try:
                async with session.get(url()) as r:
                    await r.read()
                    ok = r.status == 200
            except aiohttp.ClientError:
                ok = False
            stats[name].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[name] += 1


def server_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; ``None`` elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def phase(session, routes, args, seconds: float, pid: int, stats, errors) -> dict:
    """Run ``args.clients`` users over ``routes`` for ``seconds``: wall time, requests and server CPU."""
    cpu0, t0 = server_cpu_s(pid), time.perf_counter()
    before = sum(len(v) for v in stats.values())
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(client(session, routes, stop_at, stats, errors, args.think_ms / 1000)
                           for _ in range(args.clients)))
    cpu1 = server_cpu_s(pid)
    return {"seconds": time.perf_counter() - t0, "requests": sum(len(v) for v in stats.values()) - before,
            "cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0}


def summary(latencies: list[float], errors: int, seconds: float, cpu_s: float | None) -> dict:
    n = len(latencies)
    return {"requests": n, "errors": errors, "requests_per_s": round(n / seconds, 1) if seconds else None,
            "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1),
            "p99_ms": round(pct(latencies, 99), 1),
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
            "server_cpu_ms_per_request": round(cpu_s * 1000 / n, 3) if cpu_s is not None and n else None}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def run(args) -> dict:
    token = secrets.token_hex(16)
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix="dataask-bench-"))
    server = start_server(home, port, token, args.store_url)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    names = ("list", "load", "baseline")
    stats, errors = {n: [] for n in names}, dict.fromkeys(names, 0)
    try:
        connector = aiohttp.TCPConnector(limit=args.clients + 10)
        jar = aiohttp.CookieJar(unsafe=True)  # keep the login cookie like a browser (127.0.0.1 is an IP)
        async with aiohttp.ClientSession(headers=headers, connector=connector, cookie_jar=jar) as session:
            await wait_ready(session, base)
            t0 = time.perf_counter()
            ws, ids = await seed(session, base, args.dashboards, args.widgets)
            seeded = time.perf_counter() - t0
            dataask = (("list", lambda: f"{base}/dataask/api/workspaces/{ws}/dashboards"),
                       ("load", lambda: f"{base}/dataask/api/dashboards/{random.choice(ids)}"))
            baseline = (("baseline", lambda: f"{base}/api/status"),)
            warm_stats, warm_errors = {n: [] for n in names}, dict.fromkeys(names, 0)
            await phase(session, dataask + baseline, args, min(2.0, args.duration), server.pid, warm_stats,
                        warm_errors)
            b1 = await phase(session, baseline, args, args.baseline / 2, server.pid, stats, errors)
            first_half = len(stats["baseline"])
            main = await phase(session, dataask, args, args.duration, server.pid, stats, errors)
            b2 = await phase(session, baseline, args, args.baseline / 2, server.pid, stats, errors)
            errors["baseline"] += warm_errors["baseline"]
            errors["list"] += warm_errors["list"]
            errors["load"] += warm_errors["load"]
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    ours = stats["list"] + stats["load"]
    cpu = main["cpu_s"]
    routes = {n: summary(stats[n], errors[n], main["seconds"],
                         None if cpu is None else cpu * len(stats[n]) / max(1, len(ours)))  # CPU split by count
              for n in ("list", "load")}
    dataask_all = summary(ours, errors["list"] + errors["load"], main["seconds"], cpu)
    b_cpu = None if b1["cpu_s"] is None or b2["cpu_s"] is None else b1["cpu_s"] + b2["cpu_s"]
    base_all = summary(stats["baseline"], errors["baseline"], b1["seconds"] + b2["seconds"], b_cpu)
    halves = [summary(stats["baseline"][:first_half], 0, b1["seconds"], b1["cpu_s"]),
              summary(stats["baseline"][first_half:], 0, b2["seconds"], b2["cpu_s"])]

    def ratio(key: str) -> float | None:
        a, b = dataask_all[key], base_all[key]
        return round(a / b, 2) if a is not None and b else None

    return {"store": "postgresql" if args.store_url else "sqlite", "clients": args.clients,
            "duration_s": round(main["seconds"], 1), "baseline_s": round(b1["seconds"] + b2["seconds"], 1),
            "seed_s": round(seeded, 1), "dashboards": args.dashboards, "widgets": args.widgets,
            "think_ms": args.think_ms, "requests": len(ours), "errors": sum(errors.values()),
            "requests_per_s": dataask_all["requests_per_s"], "routes": routes, "dataask": dataask_all,
            "baseline": {"route": "/api/status", **base_all, "halves": halves},
            "ratio_to_baseline": {k: ratio(k) for k in ("p50_ms", "p95_ms", "p99_ms", "requests_per_s",
                                                        "server_cpu_ms_per_request")},
            "little_floor_ms": round(1000 * args.clients / base_all["requests_per_s"], 1)
            if base_all["requests_per_s"] and not args.think_ms else None,
            "cpus": os.cpu_count(), "load_avg": os.getloadavg()}


def _row(name: str, r: dict) -> str:
    cpu = r.get("server_cpu_ms_per_request")
    return (f"{name:<22} {r['requests']:>9} {r['errors']:>7} {r['requests_per_s']:>9} {r['p50_ms']:>8} "
            f"{r['p95_ms']:>8} {r['p99_ms']:>8} {cpu if cpu is not None else '-':>10}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (default 100)")
    parser.add_argument("--dashboards", type=int, default=200, help="dashboards to create (default 200)")
    parser.add_argument("--widgets", type=int, default=12, help="widgets per dashboard (default 12)")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause of each client between list+load rounds (default 0: back to back)")
    parser.add_argument("--baseline", type=float, default=10.0,
                        help="seconds of Jupyter's /api/status with the same clients, half before and half after "
                             "the DataAsk phase (default 10)")
    parser.add_argument("--store-url", default=None, help="metadata store URL (default: SQLite in a temp folder)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if result["errors"] == 0 else 1
    print(f"store={result['store']} clients={result['clients']} think={result['think_ms']} ms "
          f"duration={result['duration_s']} s baseline={result['baseline_s']} s "
          f"dashboards={result['dashboards']}x{result['widgets']} widgets (seeded in {result['seed_s']} s), "
          f"{result['cpus']} CPUs, load average {result['load_avg'][0]:.1f}")
    print(f"{'route':<22} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'CPU ms/req':>10}")
    for name, r in result["routes"].items():
        print(_row(name, r))
    print(_row("dataask (list+load)", result["dataask"]))
    print(_row("baseline /api/status", result["baseline"]))
    h = result["baseline"]["halves"]
    print(f"  baseline before / after the DataAsk phase: p95 {h[0]['p95_ms']} / {h[1]['p95_ms']} ms, "
          f"{h[0]['requests_per_s']} / {h[1]['requests_per_s']} requests/s")
    r = result["ratio_to_baseline"]
    print(f"DataAsk / baseline: p50 x{r['p50_ms']}, p95 x{r['p95_ms']}, p99 x{r['p99_ms']}, "
          f"requests/s x{r['requests_per_s']}, server CPU per request x{r['server_cpu_ms_per_request']}")
    print(f"total: {result['requests']} DataAsk requests, {result['errors']} errors (all phases), "
          f"{result['requests_per_s']} requests/s")
    if result["little_floor_ms"] is not None:
        met = max(x["p95_ms"] for x in result["routes"].values()) < 50
        print(f"target p95 < 50 ms: {'met' if met else 'not met'}; at {result['clients']} closed-loop clients "
              f"Jupyter's own /api/status averages {result['little_floor_ms']} ms (clients / its requests per second)")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
