"""Result cache for federated queries: in-process LRU, on-disk Arrow IPC, Redis.

Key: the normalized plan (sqlglot-generated SQL of every fetch and of the residual),
each source's ``identity`` and ``max_rows`` - so rewording a query the same way hits,
and pointing a connection elsewhere (new identity) misses. Values are Arrow tables with
the run's metadata (truncation flag, per-source stats) in the schema metadata.

Every tier honours the TTL using an injectable ``clock`` (tests pass a fake one); Redis
additionally expires keys server-side (``SET ... EX``). ``use_cache=False`` in the executor
skips both reading and writing, so ``--no-cache`` never leaves a trace.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from .model import FederationPlan
from .sources import FederationSource

__all__ = [
    "CacheEntry", "CacheTier", "DiskCache", "MemoryCache", "RedisCache", "ResultCache", "cache_key",
]

Clock = Callable[[], float]
_META = b"dataask.federation"
KEY_VERSION = 1


@dataclass
class CacheEntry:
    """A cached result: the final Arrow table and what the run reported about itself."""

    table: pa.Table
    meta: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes)


def cache_key(plan: FederationPlan, sources: Mapping[str, FederationSource], max_rows: int | None) -> str:
    """Hex digest identifying ``plan`` over these sources' current identities."""
    payload = {
        "v": KEY_VERSION,
        "fetches": [[f.source, str(sources[f.source].identity), f.dialect, f.sql] for f in plan.fetches],
        "residual": None if plan.passthrough else plan.residual_sql,
        "columns": list(plan.output_columns),
        "max_rows": max_rows,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def to_ipc(entry: CacheEntry) -> bytes:
    """Arrow IPC stream bytes with ``meta`` and ``created`` in the schema metadata."""
    meta = json.dumps({"meta": entry.meta, "created": entry.created}).encode()
    table = entry.table.replace_schema_metadata({**(entry.table.schema.metadata or {}), _META: meta})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes | pa.Buffer) -> CacheEntry:
    """Inverse of :func:`to_ipc`."""
    table = pa.ipc.open_stream(pa.BufferReader(data)).read_all()
    metadata = dict(table.schema.metadata or {})
    raw = json.loads(metadata.pop(_META, b"{}"))
    table = table.replace_schema_metadata(metadata or None)
    return CacheEntry(table=table, meta=raw.get("meta", {}), created=float(raw.get("created", 0.0)))


class CacheTier(Protocol):
    """One cache layer."""

    def get(self, key: str) -> CacheEntry | None: ...
    def put(self, key: str, entry: CacheEntry) -> None: ...
    def clear(self) -> int: ...


class MemoryCache:
    """In-process LRU bounded by entry count and total Arrow bytes.

    Parameters
    ----------
    max_entries, max_bytes
        Bounds; the least recently used entries are evicted first. A table larger than
        ``max_bytes`` is not kept.
    ttl
        Seconds an entry stays valid.
    clock
        Time source (``time.time`` by default).
    """

    def __init__(self, *, max_entries: int = 64, max_bytes: int = 256 * 1024 * 1024,
                 ttl: float = 3600.0, clock: Clock = time.time) -> None:
        self.max_entries, self.max_bytes, self.ttl, self.clock = max_entries, max_bytes, ttl, clock
        self._data: OrderedDict[str, CacheEntry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if self.clock() - entry.created > self.ttl:
                self._drop(key)
                return None
            self._data.move_to_end(key)
            return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        with self._lock:
            if key in self._data:
                self._drop(key)
            if entry.nbytes > self.max_bytes:
                return
            self._data[key] = entry
            self._bytes += entry.nbytes
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._data)))

    def _drop(self, key: str) -> None:
        entry = self._data.pop(key)
        self._bytes -= entry.nbytes

    def clear(self) -> int:
        with self._lock:
            count = len(self._data)
            self._data.clear()
            self._bytes = 0
            return count

    def __len__(self) -> int:
        return len(self._data)


class DiskCache:
    """Arrow IPC files in a private directory, written atomically (temp file + ``os.replace``).

    Parameters
    ----------
    directory
        Cache folder (created with mode 0700).
    ttl
        Seconds an entry stays valid (checked against the ``created`` time stored in the file).
    max_bytes
        Oldest files are removed when the folder grows beyond this.
    clock
        Time source.
    """

    suffix = ".arrow"

    def __init__(self, directory: str | os.PathLike[str], *, ttl: float = 86400.0,
                 max_bytes: int = 2 * 1024**3, clock: Clock = time.time) -> None:
        self.directory = Path(directory)
        self.ttl, self.max_bytes, self.clock = ttl, max_bytes, clock

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("cache keys are hex digests")
        return self.directory / f"{key}{self.suffix}"

    def get(self, key: str) -> CacheEntry | None:
        path = self._path(key)
        try:
            entry = from_ipc(pa.memory_map(str(path)).read_buffer())
        except (FileNotFoundError, pa.ArrowInvalid, ValueError, OSError):
            return None
        if self.clock() - entry.created > self.ttl:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=self.suffix, dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(to_ipc(entry))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path(key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._prune()

    def _prune(self) -> None:
        files = []
        for path in self.directory.glob(f"*{self.suffix}"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size

    def clear(self) -> int:
        count = 0
        if self.directory.is_dir():
            for path in self.directory.iterdir():
                if path.suffix == self.suffix and path.is_file():
                    with contextlib.suppress(OSError):
                        path.unlink()
                        count += not path.name.startswith(".tmp-")
        return count


class RedisCache:
    """Arrow IPC bytes in Redis under ``prefix``, expiring server-side (``SET ... EX``, i.e. SETEX).

    Parameters
    ----------
    url
        ``redis://`` URL (used when ``client`` is not given).
    client
        A ``redis.Redis`` (or compatible) client.
    ttl
        Seconds; also checked against ``clock`` on read.
    prefix
        Key namespace; :meth:`clear` deletes only keys under it.
    """

    def __init__(self, url: str | None = None, *, client: Any = None, ttl: float = 3600.0,
                 prefix: str = "dataask:federation:", clock: Clock = time.time,
                 socket_timeout: float = 5.0) -> None:
        if client is None:
            if not url:
                raise ValueError("RedisCache needs a url or a client")
            import redis

            client = redis.Redis.from_url(url, socket_timeout=socket_timeout,
                                          socket_connect_timeout=socket_timeout)
        self.client, self.ttl, self.prefix, self.clock = client, ttl, prefix, clock

    def get(self, key: str) -> CacheEntry | None:
        data = self.client.get(self.prefix + key)
        if data is None:
            return None
        entry = from_ipc(data)
        if self.clock() - entry.created > self.ttl:
            self.client.delete(self.prefix + key)
            return None
        return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        # SET ... EX is SETEX (redis-py deprecates the setex() spelling)
        self.client.set(self.prefix + key, to_ipc(entry), ex=max(1, int(self.ttl)))

    def clear(self) -> int:
        count = 0
        batch: list[bytes] = []
        for name in self.client.scan_iter(match=self.prefix + "*", count=500):
            batch.append(name)
            if len(batch) >= 500:
                count += int(self.client.delete(*batch))
                batch = []
        if batch:
            count += int(self.client.delete(*batch))
        return count


class ResultCache:
    """Tiers tried in order on read (a hit is copied into the faster tiers); all written.

    A tier that fails (Redis down, disk full) is skipped: caching never fails a query.
    ``errors`` keeps the last few failures for diagnostics.
    """

    def __init__(self, *tiers: CacheTier, clock: Clock = time.time) -> None:
        self.tiers = list(tiers)
        self.clock = clock
        self.errors: list[str] = []

    @classmethod
    def default(cls, directory: str | os.PathLike[str] | None = None, *, redis_url: str | None = None,
                ttl: float = 3600.0, clock: Clock = time.time) -> ResultCache:
        """Memory LRU, plus disk under ``directory`` and Redis at ``redis_url`` when given."""
        tiers: list[CacheTier] = [MemoryCache(ttl=ttl, clock=clock)]
        if directory is not None:
            tiers.append(DiskCache(directory, ttl=ttl, clock=clock))
        if redis_url:
            tiers.append(RedisCache(redis_url, ttl=ttl, clock=clock))
        return cls(*tiers, clock=clock)

    def _failed(self, tier: CacheTier, err: Exception) -> None:
        from .sources import sanitize_message

        self.errors = [*self.errors[-9:], f"{type(tier).__name__}: {sanitize_message(err)}"]

    def get(self, key: str) -> CacheEntry | None:
        for i, tier in enumerate(self.tiers):
            try:
                entry = tier.get(key)
            except Exception as err:  # a broken tier is skipped
                self._failed(tier, err)
                continue
            if entry is not None:
                for faster in self.tiers[:i]:
                    with contextlib.suppress(Exception):
                        faster.put(key, entry)
                return entry
        return None

    def put(self, key: str, table: pa.Table, meta: dict[str, Any]) -> None:
        entry = CacheEntry(table=table, meta=meta, created=self.clock())
        for tier in self.tiers:
            try:
                tier.put(key, entry)
            except Exception as err:
                self._failed(tier, err)

    def clear(self) -> int:
        """Empty every tier; returns the number of entries removed."""
        total = 0
        for tier in self.tiers:
            try:
                total += tier.clear()
            except Exception as err:
                self._failed(tier, err)
        return total
