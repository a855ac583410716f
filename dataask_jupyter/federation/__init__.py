"""``%%federate``'s engine: one SQL statement across several databases.

Plan with sqlglot (:mod:`.planner`, :mod:`.pushdown`, :mod:`.dialects`), fetch per-source
SQL in parallel as Arrow (:mod:`.executor`), join the rest in an isolated DuckDB
(:mod:`.engine`), cache results (:mod:`.cache`).

Typical use::

    fed = Federator.from_settings(settings)
    result = fed.run(sql, sources={"shop_crm": crm_source, "shop_sales": sales_source})
    result.to_pandas(); result.to_dict(max_rows=100)
    print(fed.explain(sql, sources).explain())
"""

from __future__ import annotations

from .cache import CacheEntry, DiskCache, MemoryCache, RedisCache, ResultCache, cache_key
from .engine import Cancellation, DuckDBJoinEngine, JoinEngine
from .executor import Federator
from .model import FederationPlan, SourceFetch
from .planner import Planner
from .result import FederatedResult, FetchStats
from .sources import DBAPISource, FederationSource, sanitize_message

__all__ = [
    "CacheEntry",
    "Cancellation",
    "DBAPISource",
    "DiskCache",
    "DuckDBJoinEngine",
    "FederatedResult",
    "FederationPlan",
    "FederationSource",
    "Federator",
    "FetchStats",
    "JoinEngine",
    "MemoryCache",
    "Planner",
    "RedisCache",
    "ResultCache",
    "SourceFetch",
    "cache_key",
    "sanitize_message",
]
