"""Connection health from recorded events, and bounded exponential backoff with jitter."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TypeVar

from ..store.records import EventRecord

T = TypeVar("T")

DEGRADED_ERROR_RATE = 0.2
DEGRADED_P95_MS = 2000.0
WINDOW = 100


@dataclass(frozen=True)
class ConnectionHealth:
    """Live health of one connection, computed over its most recent events."""

    status: str  # active | degraded | down | unknown
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    error_count: int = 0
    error_rate: float = 0.0
    last_error: str | None = None  # sanitized when recorded
    last_success_at: datetime | None = None
    last_checked_at: datetime | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("last_success_at", "last_checked_at"):
            d[key] = d[key].isoformat() if d[key] else None
        return d


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def compute_health(events: list[EventRecord]) -> ConnectionHealth:
    """Health from events, newest first (as ``Repository.recent_events`` returns them)."""
    window = events[:WINDOW]
    if not window:
        return ConnectionHealth(status="unknown")
    # a connect's time includes opening the driver (and a first import): not a latency sample
    latencies = [e.latency_ms for e in window if e.ok and e.latency_ms is not None and e.kind != "connect"]
    errors = [e for e in window if not e.ok]
    last_success = next((e.at for e in window if e.ok), None)
    p50 = _percentile(latencies, 50) if latencies else None
    p95 = _percentile(latencies, 95) if latencies else None
    rate = len(errors) / len(window)
    if not window[0].ok:
        status = "down"
    elif rate > DEGRADED_ERROR_RATE or (p95 is not None and p95 > DEGRADED_P95_MS):
        status = "degraded"
    else:
        status = "active"
    return ConnectionHealth(
        status=status,
        latency_p50_ms=round(p50, 2) if p50 is not None else None,
        latency_p95_ms=round(p95, 2) if p95 is not None else None,
        error_count=len(errors),
        error_rate=round(rate, 3),
        last_error=errors[0].message if errors else None,
        last_success_at=last_success,
        last_checked_at=window[0].at,
    )


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, a cap per wait and an overall deadline.

    Defaults follow JupyterHub: 0.2 s doubling to at most 5 s, giving up after 10 s.
    """

    base: float = 0.2
    factor: float = 2.0
    cap: float = 5.0
    deadline: float = 10.0

    def delays(self, rng: random.Random | None = None):
        """Yield successive waits (seconds); the sum never exceeds ``deadline``."""
        rng = rng or random.Random()
        spent, attempt = 0.0, 0
        while spent < self.deadline:
            ceiling = min(self.cap, self.base * self.factor**attempt)
            delay = min(rng.uniform(ceiling / 2, ceiling), self.deadline - spent)
            spent += delay
            attempt += 1
            yield delay

    def retry(
        self,
        fn: Callable[[], T],
        retryable: Callable[[BaseException], bool],
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> T:
        """Call ``fn`` until it succeeds, a non-retryable error occurs, or the deadline passes."""
        delays = self.delays(rng)
        while True:
            try:
                return fn()
            except Exception as exc:
                if not retryable(exc):
                    raise
                delay = next(delays, None)
                if delay is None:
                    raise
                sleep(delay)
