"""Connection health from events, bounded backoff with jitter, and a real PostgreSQL outage."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from dataask_jupyter.connections.health import Backoff, ConnectionHealth, compute_health
from dataask_jupyter.errors import SourceError
from dataask_jupyter.store.records import EventRecord
from tests.foundation_fixtures import make_app, pg_parts

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def ev(i: int, ok: bool = True, latency: float | None = 10.0, message: str | None = None, kind: str = "ping"):
    return EventRecord(connection_id=1, at=T0 + timedelta(seconds=i), kind=kind, ok=ok, latency_ms=latency,
                       message=message)


def newest_first(events):
    return sorted(events, key=lambda e: e.at, reverse=True)


# -- compute_health -------------------------------------------------------------------------------
def test_no_events_is_unknown():
    assert compute_health([]) == ConnectionHealth(status="unknown")


def test_active_with_percentiles():
    h = compute_health(newest_first([ev(i, latency=float(i)) for i in range(1, 101)]))
    assert h.status == "active"
    assert (h.latency_p50_ms, h.latency_p95_ms) == (50.5, 95.05)
    assert h.error_count == 0 and h.error_rate == 0.0 and h.last_error is None
    assert h.last_success_at == h.last_checked_at == T0 + timedelta(seconds=100)


def test_single_sample():
    h = compute_health([ev(1, latency=12.5)])
    assert (h.status, h.latency_p50_ms, h.latency_p95_ms) == ("active", 12.5, 12.5)


def test_newest_error_means_down_with_last_error():
    events = newest_first([ev(1), ev(2), ev(3, ok=False, latency=None, message="first"),
                           ev(4), ev(5, ok=False, latency=None, message="connection refused")])
    h = compute_health(events)
    assert h.status == "down" and h.last_error == "connection refused"
    assert h.error_count == 2 and h.error_rate == 0.4
    assert h.last_success_at == T0 + timedelta(seconds=4)
    assert (h.latency_p50_ms, h.latency_p95_ms) == (10.0, 10.0)  # errors carry no latency


def test_degraded_by_error_rate_or_latency():
    flaky = newest_first([ev(i, ok=(i % 3 != 0), latency=5.0 if i % 3 else None) for i in range(1, 21)] + [ev(21)])
    assert compute_health(flaky).status == "degraded"
    slow = newest_first([ev(i, latency=3000.0) for i in range(10)])
    assert compute_health(slow).status == "degraded"
    ok = newest_first([ev(i, ok=i != 5, latency=5.0, message=None if i != 5 else "blip") for i in range(1, 11)])
    recovered = compute_health(ok)  # 10% errors and the newest sample fine
    assert recovered.status == "active" and recovered.error_count == 1 and recovered.last_error == "blip"


def test_only_the_recent_window_counts():
    old_errors = [ev(i, ok=False, latency=None, message="old") for i in range(100)]
    recent = [ev(i, latency=1.0) for i in range(100, 200)]
    h = compute_health(newest_first(old_errors + recent))
    assert h.status == "active" and h.error_count == 0


def test_health_to_dict_is_json_ready():
    import json

    d = compute_health([ev(1, latency=3.0)]).to_dict()
    assert json.loads(json.dumps(d))["last_success_at"] == (T0 + timedelta(seconds=1)).isoformat()
    assert set(d) == {"status", "latency_p50_ms", "latency_p95_ms", "error_count", "error_rate", "last_error",
                      "last_success_at", "last_checked_at"}


# -- Backoff --------------------------------------------------------------------------------------
def test_defaults_follow_jupyterhub():
    b = Backoff()
    assert (b.base, b.factor, b.cap, b.deadline) == (0.2, 2.0, 5.0, 10.0)


@pytest.mark.parametrize("seed", range(5))
def test_delays_grow_with_full_jitter_a_cap_and_a_deadline(seed):
    b = Backoff()
    delays = list(b.delays(random.Random(seed)))
    assert abs(sum(delays) - b.deadline) < 1e-9  # stops exactly at the deadline
    for n, d in enumerate(delays[:-1]):
        ceiling = min(b.cap, b.base * b.factor**n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= b.cap
    assert 4 <= len(delays) <= 9


def test_jitter_differs_between_callers():
    a = list(Backoff().delays(random.Random(1)))
    b = list(Backoff().delays(random.Random(2)))
    assert a != b


def test_retry_until_success_sleeps_between_attempts():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise ConnectionError("refused")
        return "ok"

    result = Backoff().retry(flaky, retryable=lambda e: isinstance(e, ConnectionError), sleep=sleeps.append,
                             rng=random.Random(0))
    assert result == "ok" and len(calls) == 4 and len(sleeps) == 3
    assert sleeps[0] <= 0.2 and sleeps[1] <= 0.4 and sleeps[2] <= 0.8


def test_retry_gives_up_at_the_deadline():
    sleeps = []

    def down():
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        Backoff(deadline=3.0).retry(down, retryable=lambda e: True, sleep=sleeps.append, rng=random.Random(0))
    assert abs(sum(sleeps) - 3.0) < 1e-9


def test_retry_does_not_retry_other_errors():
    sleeps, calls = [], []

    def bad_password():
        calls.append(1)
        raise PermissionError("password authentication failed")

    with pytest.raises(PermissionError):
        Backoff().retry(bad_password, retryable=lambda e: isinstance(e, ConnectionError), sleep=sleeps.append)
    assert calls == [1] and sleeps == []


def test_manager_backoff_is_bounded_by_connect_timeout(tmp_path):
    with make_app(tmp_path / "home", connect_timeout=2.5) as app:
        assert app.connections.backoff.deadline == 2.5 and app.connections.backoff.cap <= 5.0


# -- a real outage --------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.slow
def test_sec_32_postgres_down_then_up_reconnects_without_restart(tmp_path, fresh_pg_db, pg_server):
    password = pg_parts(fresh_pg_db)["password"]
    with make_app(tmp_path / "home", connect_timeout=2.0, query_timeout=5.0) as app:
        app.connect("pg", fresh_pg_db)
        for _ in range(3):
            assert app.connections.test("pg").ok
        assert app.connections.info("pg").health.status == "active"
        before = app.connections.backend("pg")

        pg_server.stop()
        t = time.perf_counter()
        with pytest.raises(SourceError) as info:
            app.sql("pg", "SELECT 1 AS x")
        elapsed = time.perf_counter() - t
        assert elapsed < 2.0 + 5.0 + 2.0  # within connect timeout (backoff deadline) + query timeout
        msg = str(info.value)
        assert msg.startswith("'pg'") and password not in msg and "postgresql://" not in msg
        assert "Traceback" not in msg
        health = app.connections.info("pg").health
        assert health.status == "down" and health.last_error and password not in health.last_error
        assert app.connections.test("pg").ok is False
        listed = app.list_connections().to_dict()[0]
        assert listed["health"]["status"] == "down" and password not in repr(listed)

        pg_server.start()
        t = time.perf_counter()
        assert app.sql("pg", "SELECT 41 + 1 AS x").to_dict()["rows"] == [[42]]  # same manager, no restart
        assert time.perf_counter() - t < 5
        assert app.connections.backend("pg") is not before  # a new session under the same entry
        assert app.connections.test("pg").ok
        health = app.connections.info("pg").health
        # recovered: no longer down (degraded while the outage's errors are in the window)
        assert health.status in ("active", "degraded") and health.error_count == 2
        assert health.last_checked_at == health.last_success_at
