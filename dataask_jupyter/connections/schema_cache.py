"""Table lists and column types per connection, reused for a short while.

``%%federate`` and ``%%ask`` ask every source for its tables and the columns of each
table they touch, on every statement; a server answers in 3-20 ms per call, which adds
up to a noticeable share of a small query. Answers are kept for ``ttl`` seconds. They are
dropped when the connection is saved again or removed, and a caller that misses (an
unknown table, a column the binder cannot find) asks again with the cache cleared
(:meth:`SchemaCache.drop`), so a new table or column is seen at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["SCHEMA_TTL", "SchemaCache"]

SCHEMA_TTL = 60.0
T = TypeVar("T")


class SchemaCache:
    """Thread-safe memo keyed by ``(workspace id, connection, ...)`` with a time limit."""

    def __init__(self, ttl: float = SCHEMA_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[Any, float]] = {}

    def get(self, key: tuple, load: Callable[[], T]) -> T:
        """The cached value of ``key``, else ``load()`` (errors are not cached)."""
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and self.clock() - hit[1] < self.ttl:
            return hit[0]
        value = load()
        with self._lock:
            self._entries[key] = (value, self.clock())
        return value

    def drop(self, ws_id: int, name: str) -> None:
        """Forget everything about one connection."""
        with self._lock:
            for key in [k for k in self._entries if k[:2] == (ws_id, name)]:
                del self._entries[key]
