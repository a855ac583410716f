"""Load benchmark of the DataAsk workspace API (issue 5), one command.

Starts a Jupyter Server with the DataAsk extension on a fresh store, creates a workspace
with 200 dashboards of 12 widgets, then runs 100 concurrent clients for 30 s that each
repeat: list the workspace's dashboards, load one dashboard. Widget queries are not run.
Prints errors, p50/p95/p99 latency per route and requests per second.

    python benchmarks/api_load.py                       # 100 clients, 30 s, SQLite store
    python benchmarks/api_load.py --duration 10 --clients 50
    python benchmarks/api_load.py --store-url postgresql+psycopg://user:pw@host/db

Target (issue 5): 0 errors, p95 < 50 ms for list and load.
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


async def client(session, base, ws, ids, stop_at, stats, errors, think: float = 0.0) -> None:
    routes = (("list", lambda: f"{base}/dataask/api/workspaces/{ws}/dashboards"),
              ("load", lambda: f"{base}/dataask/api/dashboards/{random.choice(ids)}"))
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
            except aiohttp.ClientError as exc:
                ok, _ = False, exc
            stats[name].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[name] += 1


async def jupyter_baseline(session, base: str, clients: int, seconds: float) -> dict:
    """Jupyter Server's own ``/api/status`` under the same concurrency: the floor on this machine."""
    lat: list[float] = []
    stop_at = time.monotonic() + seconds

    async def one() -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            async with session.get(f"{base}/api/status") as r:
                await r.read()
            lat.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return {"requests_per_s": round(len(lat) / (time.perf_counter() - started), 1),
            "p50_ms": round(pct(lat, 50), 1), "p95_ms": round(pct(lat, 95), 1)}


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
    try:
        connector = aiohttp.TCPConnector(limit=args.clients + 10)
        jar = aiohttp.CookieJar(unsafe=True)  # keep the login cookie like a browser (127.0.0.1 is an IP)
        async with aiohttp.ClientSession(headers=headers, connector=connector, cookie_jar=jar) as session:
            await wait_ready(session, base)
            t0 = time.perf_counter()
            ws, ids = await seed(session, base, args.dashboards, args.widgets)
            seeded = time.perf_counter() - t0
            stats = {"list": [], "load": []}
            errors = {"list": 0, "load": 0}
            stop_at = time.monotonic() + args.duration
            started = time.perf_counter()
            await asyncio.gather(*(client(session, base, ws, ids, stop_at, stats, errors, args.think_ms / 1000)
                                   for _ in range(args.clients)))
            elapsed = time.perf_counter() - started
            baseline = await jupyter_baseline(session, base, args.clients, min(5.0, args.duration))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    total = sum(len(v) for v in stats.values())
    return {"store": "postgresql" if args.store_url else "sqlite", "clients": args.clients,
            "duration_s": round(elapsed, 1), "seed_s": round(seeded, 1), "dashboards": args.dashboards,
            "widgets": args.widgets, "requests": total, "errors": sum(errors.values()),
            "requests_per_s": round(total / elapsed, 1), "think_ms": args.think_ms,
            "jupyter_status_baseline": baseline, "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
            "routes": {name: {"requests": len(v), "errors": errors[name], "p50_ms": round(pct(v, 50), 1),
                              "p95_ms": round(pct(v, 95), 1), "p99_ms": round(pct(v, 99), 1),
                              "mean_ms": round(statistics.fmean(v), 1) if v else None}
                       for name, v in stats.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (default 100)")
    parser.add_argument("--dashboards", type=int, default=200, help="dashboards to create (default 200)")
    parser.add_argument("--widgets", type=int, default=12, help="widgets per dashboard (default 12)")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause of each client between list+load rounds (default 0: back to back)")
    parser.add_argument("--store-url", default=None, help="metadata store URL (default: SQLite in a temp folder)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if result["errors"] == 0 else 1
    print(f"store={result['store']} clients={result['clients']} think={result['think_ms']} ms "
          f"duration={result['duration_s']} s "
          f"dashboards={result['dashboards']}x{result['widgets']} widgets (seeded in {result['seed_s']} s)")
    print(f"{'route':<6} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, r in result["routes"].items():
        print(f"{name:<6} {r['requests']:>9} {r['errors']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8}")
    print(f"total: {result['requests']} requests, {result['errors']} errors, {result['requests_per_s']} requests/s")
    b = result["jupyter_status_baseline"]
    print(f"baseline: Jupyter's own /api/status at the same concurrency: {b['requests_per_s']} requests/s, "
          f"p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms ({result['cpus']} CPUs, load average "
          f"{result['load_avg'][0]:.1f})")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
