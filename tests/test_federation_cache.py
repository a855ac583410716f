"""Result cache: hits, TTL (fake clock), identity invalidation, disk persistence, Redis."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dataask_jupyter.federation import DiskCache, Federator, MemoryCache, RedisCache, ResultCache
from dataask_jupyter.federation.cache import CacheEntry, from_ipc, to_ipc
from tests.federation_helpers import DuckDBSource, make_shop, same_rows

SQL = ("SELECT c.region, sum(o.amount) AS revenue FROM crm.customers c JOIN sales.orders o "
       "ON o.customer_id = c.id WHERE o.status = 'paid' GROUP BY 1 ORDER BY 1 NULLS LAST")


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def shop(tmp_path):
    return make_shop(tmp_path)


def calls(shop) -> int:
    return len(shop.crm.calls) + len(shop.sales.calls)


def test_second_run_hits_without_touching_sources(shop):
    fed = Federator(cache=ResultCache(MemoryCache()))
    first = fed.run(SQL, sources=shop.sources)
    before = calls(shop)
    second = fed.run(SQL, sources=shop.sources)
    assert (first.cache, second.cache) == ("miss", "hit")
    assert calls(shop) == before
    assert second.table.equals(first.table) and second.columns == first.columns
    assert [s.sql for s in second.plan] == [s.sql for s in first.plan]
    assert all(s.cached and s.seconds == 0 for s in second.plan)
    assert second.to_dict()["cache"] == "hit"


def test_equivalent_spelling_hits(shop):
    fed = Federator(cache=ResultCache(MemoryCache()))
    fed.run(SQL, sources=shop.sources)
    respelled = SQL.replace("SELECT c.region", "select   C.REGION").replace("GROUP BY 1", "group by c.region")
    assert fed.run(respelled, sources=shop.sources).cache == "hit"


def test_no_cache_skips_read_and_write(shop):
    fed = Federator(cache=ResultCache(MemoryCache()))
    assert fed.run(SQL, sources=shop.sources, use_cache=False).cache == "off"
    assert fed.run(SQL, sources=shop.sources).cache == "miss"  # nothing was written before
    before = calls(shop)
    assert fed.run(SQL, sources=shop.sources, use_cache=False).cache == "off"
    assert calls(shop) > before


def test_max_rows_is_part_of_the_key(shop):
    fed = Federator(cache=ResultCache(MemoryCache()))
    fed.run(SQL, sources=shop.sources, max_rows=2)
    capped = fed.run(SQL, sources=shop.sources, max_rows=2)
    assert capped.cache == "hit" and capped.truncated and capped.row_count == 2
    assert fed.run(SQL, sources=shop.sources, max_rows=100).cache == "miss"


def test_ttl_expiry_with_fake_clock(shop, tmp_path):
    clock = FakeClock()
    cache = ResultCache(MemoryCache(ttl=60, clock=clock), DiskCache(tmp_path / "c", ttl=60, clock=clock), clock=clock)
    fed = Federator(cache=cache)
    fed.run(SQL, sources=shop.sources)
    clock.now += 59
    assert fed.run(SQL, sources=shop.sources).cache == "hit"
    clock.now += 2
    assert fed.run(SQL, sources=shop.sources).cache == "miss"  # expired in memory *and* on disk


def test_identity_change_invalidates(shop):
    fed = Federator(cache=ResultCache(MemoryCache()))
    fed.run(SQL, sources=shop.sources)
    moved = DuckDBSource("sales", shop.sales.path, identity="duckdb:///elsewhere.duckdb")
    assert fed.run(SQL, sources={"crm": shop.crm, "sales": moved}).cache == "miss"
    assert fed.run(SQL, sources={"crm": shop.crm, "sales": moved}).cache == "hit"


def test_disk_cache_survives_a_new_federator_and_writes_atomically(shop, tmp_path):
    folder = tmp_path / "fedcache"
    first = Federator(cache=ResultCache(MemoryCache(), DiskCache(folder))).run(SQL, sources=shop.sources)
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1 and files[0].endswith(".arrow")  # no temp files left behind
    assert (folder.stat().st_mode & 0o777) == 0o700
    before = calls(shop)
    again = Federator(cache=ResultCache(MemoryCache(), DiskCache(folder))).run(SQL, sources=shop.sources)
    assert again.cache == "hit" and calls(shop) == before
    assert same_rows(again.table, first.table, ordered=True) and again.truncated == first.truncated


def test_clear_empties_every_tier(shop, tmp_path):
    cache = ResultCache(MemoryCache(), DiskCache(tmp_path / "c"))
    fed = Federator(cache=cache)
    fed.run(SQL, sources=shop.sources)
    fed.run(SQL.replace("'paid'", "'open'"), sources=shop.sources)
    assert fed.clear_cache() == 4  # two entries in two tiers
    assert list((tmp_path / "c").iterdir()) == []
    assert fed.run(SQL, sources=shop.sources).cache == "miss"


def test_memory_lru_bounds():
    small = pa.table({"x": list(range(100))})
    clock = FakeClock(0.0)
    lru = MemoryCache(max_entries=2, max_bytes=10_000, clock=clock)
    for key in "abc":
        lru.put(key, CacheEntry(small, created=0))
    assert lru.get("a") is None and lru.get("b") is not None and lru.get("c") is not None
    lru.get("b")
    lru.put("d", CacheEntry(small, created=0))
    assert lru.get("c") is None and lru.get("b") is not None  # least recently used went first
    tight = MemoryCache(max_entries=10, max_bytes=small.nbytes * 2, clock=clock)
    for key in "abc":
        tight.put(key, CacheEntry(small, created=0))
    assert len(tight) == 2
    tight.put("huge", CacheEntry(pa.table({"x": list(range(10_000))}), created=0))
    assert tight.get("huge") is None


def test_disk_cache_bounded_and_rejects_odd_keys(tmp_path):
    clock = FakeClock()
    table = pa.table({"x": list(range(1000))})
    disk = DiskCache(tmp_path / "d", max_bytes=len(to_ipc(CacheEntry(table))) * 2 + 100, clock=clock)
    for i, key in enumerate(["a1", "b2", "c3"]):
        clock.now += 1
        disk.put(key, CacheEntry(table, created=clock.now))
        (tmp_path / "d" / f"{key}.arrow").touch()
        import os

        os.utime(tmp_path / "d" / f"{key}.arrow", (i, i))
    disk.put("d4", CacheEntry(table, created=clock.now))
    assert disk.get("a1") is None and disk.get("d4") is not None
    with pytest.raises(ValueError):
        disk.get("../../etc/passwd")


def test_ipc_roundtrip_keeps_metadata_and_duplicate_names():
    table = pa.Table.from_arrays([pa.array([1]), pa.array(["x"])], names=["id", "id"])
    entry = from_ipc(to_ipc(CacheEntry(table, {"truncated": True, "stats": []}, created=5.0)))
    assert entry.table.column_names == ["id", "id"] and entry.meta["truncated"] is True and entry.created == 5.0


def test_broken_tier_never_fails_the_query(shop):
    redis_down = RedisCache("redis://127.0.0.1:9/0", socket_timeout=0.2)
    cache = ResultCache(MemoryCache(), redis_down)
    fed = Federator(cache=cache)
    assert fed.run(SQL, sources=shop.sources).cache == "miss"
    assert fed.run(SQL, sources=shop.sources).cache == "hit"  # memory still works
    assert cache.errors and all("RedisCache" in e for e in cache.errors)


def test_from_settings_builds_memory_and_disk(tmp_path):
    from dataask_jupyter.config import Settings

    fed = Federator.from_settings(Settings(home=tmp_path, max_rows=123, query_timeout=7.0))
    assert fed.max_rows == 123 and fed.timeout == 7.0
    kinds = [type(t).__name__ for t in fed.cache.tiers]
    assert kinds == ["MemoryCache", "DiskCache"]
    assert fed.cache.tiers[1].directory == tmp_path / "cache" / "federation"


# --------------------------------------------------------------------------- Redis (real server)


@pytest.mark.integration
def test_redis_cache_shared_between_federators(shop, redis_url):
    prefix = "dataask:test-federation:"
    make = lambda: ResultCache(MemoryCache(), RedisCache(redis_url, ttl=30, prefix=prefix))  # noqa: E731
    first = Federator(cache=make())
    first.clear_cache()
    assert first.run(SQL, sources=shop.sources).cache == "miss"
    redis_tier = first.cache.tiers[1]
    keys = list(redis_tier.client.scan_iter(match=prefix + "*"))
    assert len(keys) == 1 and 0 < redis_tier.client.ttl(keys[0]) <= 30  # SETEX
    before = calls(shop)
    second = Federator(cache=make())
    assert second.run(SQL, sources=shop.sources).cache == "hit" and calls(shop) == before
    redis_tier.client.set("dataask:other-namespace", b"keep")
    assert second.cache.tiers[1].clear() == 1
    assert redis_tier.client.get("dataask:other-namespace") == b"keep"
    redis_tier.client.delete("dataask:other-namespace")


@pytest.mark.integration
def test_redis_ttl_with_fake_clock(redis_url):
    clock = FakeClock()
    tier = RedisCache(redis_url, ttl=10, prefix="dataask:test-federation-ttl:", clock=clock)
    tier.clear()
    tier.put("k1", CacheEntry(pa.table({"x": [1]}), created=clock.now))
    assert tier.get("k1") is not None
    clock.now += 11
    assert tier.get("k1") is None
    assert tier.client.get("dataask:test-federation-ttl:k1") is None  # expired entries are deleted
