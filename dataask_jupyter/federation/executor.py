"""Run federated statements: plan, consult the cache, fetch in parallel, join, cap.

:class:`Federator` keeps all state in the object (planner, join engine, cache, limits);
one instance can serve many runs, including after a timeout or a Ctrl-C.

Cancellation: each run has a :class:`~.engine.Cancellation`. A timeout, a failing source
or a ``KeyboardInterrupt`` in the calling thread fires it, which calls ``cancel()`` on
every source of the plan (server-side cancel where the source supports it) and
interrupts DuckDB. Worker threads are never joined on those paths, so the caller gets
control back at once; the next run uses fresh threads and a fresh DuckDB.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from ..errors import DataAskError, QueryCancelled, QueryTimeout, SourceError, TooLarge, UsageError
from .cache import CacheEntry, ResultCache, cache_key
from .coerce import coerce_by_name, coerce_positional
from .engine import Cancellation, DuckDBJoinEngine, JoinEngine
from .model import FederationPlan, SourceFetch
from .planner import LEVELS, Planner
from .reduction import Edge, plan_reductions, reduced_sql, template_sql
from .result import FederatedResult, FetchStats
from .sources import FederationSource, sanitize_message
from .split import SPLIT_NOTE, fetch_split

__all__ = ["DEFAULT", "Federator", "ProgressEvent"]

ProgressEvent = dict[str, Any]
Progress = Callable[[ProgressEvent], object] | bool | None


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()

# Driver messages meaning "could not reach the source" (retrying with less pushdown won't help).
_UNREACHABLE = ("connect", "timed out", "timeout", "refused", "unreachable", "authentication",
                "resolve host", "translate host", "network", "broken pipe", "ssl", "terminating")


_POLL = 0.2  # seconds between checks of deadline and interrupts while waiting


class _FetchFailed(Exception):
    def __init__(self, fetch: SourceFetch, error: BaseException) -> None:
        super().__init__(str(error))
        self.fetch, self.error = fetch, error


class Federator:
    """Runs SQL that joins tables from several connections.

    Parameters
    ----------
    planner
        Plans statements (default :class:`Planner` with the shared read-only guard).
    engine
        Join engine (default :class:`DuckDBJoinEngine`).
    cache
        Result cache; ``None`` disables caching. Default: in-process LRU only (use
        :meth:`from_settings` for memory + disk + Redis).
    max_rows
        Default row cap of results (``truncated`` is set when it cuts).
    timeout
        Default seconds for fetch + join (``None``: no limit).
    max_workers
        Parallel fetch threads per run.
    per_source_concurrency
        Fetches run at the same time against one source.
    max_fetch_rows
        Refuse (:class:`~dataask_jupyter.errors.TooLarge`) when one fetch returns more rows.
    retry_pushdown
        When a source rejects pushed-down SQL, re-plan with less pushdown and retry.
    reduce
        Semi-join reduction (:mod:`.reduction`): fetch small join sides first and send
        their keys to the big side as an IN list.
    clock
        Monotonic time source for timings and deadlines.
    """

    def __init__(
        self,
        *,
        planner: Planner | None = None,
        engine: JoinEngine | None = None,
        cache: ResultCache | None | Any = DEFAULT,
        max_rows: int | None = 100_000,
        timeout: float | None = None,
        max_workers: int = 8,
        per_source_concurrency: int = 1,
        max_fetch_rows: int | None = None,
        retry_pushdown: bool = True,
        reduce: bool = True,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.planner = planner or Planner()
        self.engine: JoinEngine = engine or DuckDBJoinEngine()
        self.cache: ResultCache | None = ResultCache.default() if cache is DEFAULT else cache
        self.max_rows = max_rows
        self.timeout = timeout
        self.max_workers = max(1, max_workers)
        self.per_source_concurrency = max(1, per_source_concurrency)
        self.max_fetch_rows = max_fetch_rows
        self.retry_pushdown = retry_pushdown
        self.reduce = reduce
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> Federator:
        """Defaults from :class:`dataask_jupyter.config.Settings`.

        Cache: memory + disk under ``<home>/cache/federation`` + Redis when
        ``settings.redis_url`` is set; ``max_rows`` and ``query_timeout`` as configured.
        """
        if "cache" not in overrides:
            overrides["cache"] = ResultCache.default(
                settings.home / "cache" / "federation", redis_url=getattr(settings, "redis_url", None)
            )
        overrides.setdefault("max_rows", settings.max_rows)
        overrides.setdefault("timeout", settings.query_timeout)
        return cls(**overrides)

    # ------------------------------------------------------------------ public API
    def explain(self, sql: str, sources: Mapping[str, FederationSource], *, pushdown: str = "full") -> FederationPlan:
        """Plan ``sql`` without running anything (the guard still checks it)."""
        return self.planner.plan(sql, sources, pushdown=pushdown)

    def clear_cache(self) -> int:
        """Empty every cache tier; returns the number of entries removed."""
        return self.cache.clear() if self.cache is not None else 0

    def run(
        self,
        sql: str,
        *,
        sources: Mapping[str, FederationSource],
        timeout: float | None = None,
        max_rows: int | None | Any = DEFAULT,
        use_cache: bool = True,
        progress: Progress = None,
        pushdown: str = "full",
    ) -> FederatedResult:
        """Run ``sql`` across ``sources``.

        Parameters
        ----------
        sql
            One SELECT (DuckDB dialect) naming tables ``connection.table``.
        sources
            Connection name to source.
        timeout
            Seconds for fetching and joining (``None``: the instance default).
        max_rows
            Row cap (``None``: no cap; default: the instance's ``max_rows``).
        use_cache
            ``False`` (``--no-cache``) skips reading *and* writing the cache.
        progress
            ``True`` for a tqdm bar, or a callable receiving one dict per event
            (``{"event": "start"|"done", "source", "name", "done", "total", ...}``),
            always called from the calling thread.
        pushdown
            ``"full"`` (default), ``"tables"`` or ``"bare"``; see :meth:`Planner.plan`.

        Raises
        ------
        UnsafeSQL, UsageError, ConnectionNotFound, TableNotFound
            Before anything is fetched.
        SourceError
            A source failed (message names it; credentials and URIs removed).
        QueryTimeout, QueryCancelled
            Timeout or ``KeyboardInterrupt``; every source's ``cancel()`` was called.
        """
        timeout = self.timeout if timeout is None else timeout
        if timeout is not None and timeout <= 0:
            raise UsageError("timeout must be a positive number of seconds.")
        cap = self.max_rows if max_rows is DEFAULT else max_rows
        if cap is not None and cap < 0:
            raise UsageError("max_rows must be zero or more.")
        start = self.clock()
        deadline = None if timeout is None else start + timeout
        try:
            plan = self.planner.plan(sql, sources, pushdown=pushdown)
        except KeyboardInterrupt:
            raise QueryCancelled("Cancelled while planning.") from None
        seconds = {"plan": self.clock() - start, "fetch": 0.0, "join": 0.0, "total": 0.0}
        key, cache_state = None, "off"
        if use_cache and self.cache is not None:
            key = cache_key(plan, sources, cap)
            entry = self.cache.get(key)
            if entry is not None:
                seconds["total"] = self.clock() - start
                return self._from_cache(entry, plan, seconds)
            cache_state = "miss"
        notes: list[str] = []
        while True:
            try:
                table, stats = self._execute(plan, sources, cap, deadline, progress, seconds, timeout)
                break
            except _FetchFailed as failure:
                plan = self._replan(sql, sources, plan, failure, notes)
        truncated = cap is not None and table.num_rows > cap
        if truncated:
            table = table.slice(0, cap)
        if table.num_columns == len(plan.output_columns):
            table = table.rename_columns(list(plan.output_columns))
        seconds["total"] = self.clock() - start
        if key is not None and self.cache is not None:
            meta = {"truncated": truncated, "stats": [asdict(s) for s in stats], "notes": notes}
            self.cache.put(key, table, meta)
        return FederatedResult(
            table=table, columns=list(table.column_names), row_count=table.num_rows, truncated=truncated,
            plan=stats, cache=cache_state, seconds=seconds, federation_plan=plan,
            notes=[*plan.notes, *notes],
        )

    # ------------------------------------------------------------------ internals
    def _from_cache(self, entry: CacheEntry, plan: FederationPlan, seconds: dict[str, float]) -> FederatedResult:
        stats = [FetchStats(**{**s, "seconds": 0.0, "cached": True}) for s in entry.meta.get("stats", [])]
        return FederatedResult(
            table=entry.table, columns=list(entry.table.column_names), row_count=entry.table.num_rows,
            truncated=bool(entry.meta.get("truncated")), plan=stats, cache="hit", seconds=seconds,
            federation_plan=plan, notes=list(entry.meta.get("notes", [])),
        )

    def _replan(self, sql, sources, plan: FederationPlan, failure: _FetchFailed, notes: list[str]) -> FederationPlan:
        error = failure.error
        message = str(error).lower()
        level = LEVELS.index(plan.pushdown)
        if (
            not self.retry_pushdown
            or isinstance(error, DataAskError)
            or level + 1 >= len(LEVELS)
            or any(word in message for word in _UNREACHABLE)
        ):
            raise self._source_error(failure.fetch, error)
        for lower in LEVELS[level + 1:]:
            new = self.planner.plan(sql, sources, pushdown=lower)
            if failure.fetch.sql not in {f.sql for f in new.fetches if f.source == failure.fetch.source}:
                notes.append(
                    f"{failure.fetch.source} rejected pushed-down SQL ({sanitize_message(error)[:200]}); "
                    f"retried with pushdown={new.pushdown}"
                )
                return new
        raise self._source_error(failure.fetch, error)

    @staticmethod
    def _source_error(fetch: SourceFetch, error: BaseException) -> DataAskError:
        if isinstance(error, DataAskError):
            return error
        secrets = getattr(error, "secrets", ())
        return SourceError(f"Connection '{fetch.source}' failed: {sanitize_message(error, secrets)}")

    def _execute(self, plan, sources, cap, deadline, progress, seconds, timeout) -> tuple[pa.Table, list[FetchStats]]:
        cancellation = Cancellation()
        for name in plan.sources:
            cancellation.on_cancel(sources[name].cancel)
        if not plan.passthrough:
            warm = getattr(self.engine, "warm", None)  # optional: open the join engine during the fetches
            if warm is not None:
                warm()
        try:
            t0 = self.clock()
            fetched, stats = self._fetch_all(plan, sources, cap, deadline, progress, cancellation, timeout)
            seconds["fetch"] += self.clock() - t0
            t1 = self.clock()
            if plan.passthrough:
                table = coerce_positional(fetched[plan.fetches[0].name], list(plan.output_types))
            else:
                table = self._join(plan, fetched, cap, deadline, cancellation, timeout)
            seconds["join"] += self.clock() - t1
            return table, stats
        except KeyboardInterrupt:
            cancellation.cancel()
            raise QueryCancelled(
                "Query cancelled; cancel was sent to " + (", ".join(plan.sources) or "the join engine") + "."
            ) from None

    def _timeout(self, plan: FederationPlan, cancellation: Cancellation, timeout: float | None) -> QueryTimeout:
        cancellation.cancel()
        where = f"; cancelled the queries on {', '.join(plan.sources)}" if plan.sources else ""
        return QueryTimeout(f"The federated query timed out after {timeout:g} s{where}.",
                            hint="Raise --timeout, or filter the tables so less data moves.")

    def _waits(self, plan: FederationPlan, sources) -> dict[str, list[Edge]]:
        """Which fetch waits for which reducer (see :mod:`.reduction`); empty: all start at once."""
        if not self.reduce or plan.passthrough or len(plan.fetches) < 2:
            return {}
        memo: dict[str, float | None] = {}
        by_table = {t: f.source for f in plan.fetches for t in f.tables}

        def table_rows(qualified: str) -> float | None:
            if qualified not in memo:
                source_name = by_table.get(qualified, "")
                estimate = getattr(sources.get(source_name), "estimate_rows", None)
                try:
                    memo[qualified] = estimate(qualified[len(source_name) + 1:]) if estimate else None
                except Exception:  # an estimate only steers the order; never fail the query on it
                    memo[qualified] = None
            return memo[qualified]

        return plan_reductions(plan.fetches, plan.residual_sql, table_rows)

    def _fetch_all(self, plan, sources, cap, deadline, progress, cancellation, timeout):
        fetched: dict[str, pa.Table] = {}
        stats: dict[str, FetchStats] = {}
        if not plan.fetches:
            return fetched, []
        waits = self._waits(plan, sources)
        report, close = _progress(progress, len(plan.fetches))
        gates = {name: threading.Semaphore(self.per_source_concurrency) for name in plan.sources}
        pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(plan.fetches)),
                                  thread_name_prefix="dataask-fetch")
        try:
            futures: dict[Future, SourceFetch] = {}

            def submit(fetch: SourceFetch, reduced: tuple[str, str] | None = None) -> None:
                rows = cap + 1 if plan.passthrough and cap is not None else None
                if rows is None and self.max_fetch_rows is not None:
                    rows = self.max_fetch_rows + 1
                futures[pool.submit(self._fetch_one, fetch, sources[fetch.source], gates[fetch.source],
                                    deadline, cancellation, rows, plan.passthrough, reduced)] = fetch
                report({"event": "start", "source": fetch.source, "name": fetch.name,
                        "done": len(fetched), "total": len(plan.fetches)})

            waiting = {f.name: f for f in plan.fetches if f.name in waits}
            for fetch in plan.fetches:
                if fetch.name not in waiting:
                    submit(fetch)
            pending = set(futures)
            while pending:
                remaining = None if deadline is None else deadline - self.clock()
                if remaining is not None and remaining <= 0:
                    raise self._timeout(plan, cancellation, timeout)
                # short slices keep the calling thread responsive to Ctrl-C on every platform
                step = _POLL if remaining is None else min(remaining, _POLL)
                done, pending = wait(pending, timeout=step, return_when=FIRST_COMPLETED)
                for future in done:
                    fetch = futures[future]
                    error = future.exception()
                    if error is not None:
                        cancellation.cancel()
                        if isinstance(error, (TooLarge, QueryCancelled)):
                            raise error
                        if deadline is not None and self.clock() >= deadline:
                            raise self._timeout(plan, cancellation, timeout)
                        raise _FetchFailed(fetch, error)
                    fetched[fetch.name], stats[fetch.name] = future.result()
                    report({"event": "done", "source": fetch.source, "name": fetch.name,
                            "rows": stats[fetch.name].rows, "seconds": stats[fetch.name].seconds,
                            "done": len(fetched), "total": len(plan.fetches)})
                for name, fetch in list(waiting.items()):  # reducers all in: start what waited for them
                    if all(edge.reducer in fetched for edge in waits[name]):
                        del waiting[name]
                        submit(fetch, reduced_sql(fetch, waits[name], fetched))
                        pending = pending | {f for f, x in futures.items() if x is fetch}
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            close()
        return fetched, [stats[f.name] for f in plan.fetches]

    def _fetch_one(self, fetch: SourceFetch, source: FederationSource, gate: threading.Semaphore,
                   deadline: float | None, cancellation: Cancellation, max_rows: int | None,
                   passthrough: bool, reduced: tuple[str, str] | None = None) -> tuple[pa.Table, FetchStats]:
        sql, shown, kwargs = fetch.sql, fetch.sql, {}
        if reduced is not None:
            # the guard checks the wrapper once; the IN list is built here from typed keys
            self.planner.guard(template_sql(fetch), fetch.dialect)
            sql, shown = reduced
            if getattr(source, "accepts_prechecked", False):
                kwargs["prechecked"] = True
        elif getattr(source, "accepts_split", False):
            split = fetch_split(fetch.sql, fetch.dialect)
            if split is not None:
                kwargs["split"] = split  # the source decides whether ranges on several sessions pay
        with gate:
            if cancellation.cancelled:
                raise QueryCancelled("Cancelled before the fetch started.")
            remaining = None if deadline is None else max(0.001, deadline - self.clock())
            t0 = self.clock()
            table = source.fetch_arrow(sql, timeout=remaining, max_rows=max_rows, **kwargs)
            elapsed = self.clock() - t0
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
        split_note = (table.schema.metadata or {}).get(SPLIT_NOTE)
        if split_note:
            shown = f"{shown}\n-- run as {split_note.decode()}"
        if not passthrough and self.max_fetch_rows is not None and table.num_rows > self.max_fetch_rows:
            raise TooLarge(
                f"{fetch.source} returned more than {self.max_fetch_rows} rows for {', '.join(fetch.tables)}.",
                hint="Add filters on that table, or raise the fetch limit.",
            )
        if table.num_columns == len(fetch.columns):
            table = table.rename_columns(list(fetch.columns))
        table = coerce_by_name(table, fetch.column_types)
        stat = FetchStats(source=fetch.source, sql=shown, rows=table.num_rows, bytes=int(table.nbytes),
                          seconds=elapsed, name=fetch.name, kind=fetch.kind)
        return table, stat

    def _join(self, plan, fetched, cap, deadline, cancellation, timeout) -> pa.Table:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataask-join")
        try:
            future = pool.submit(self.engine.run, plan, fetched, max_rows=cap, cancellation=cancellation)
            while True:
                remaining = None if deadline is None else deadline - self.clock()
                if remaining is not None and remaining <= 0:
                    raise self._timeout(plan, cancellation, timeout)
                try:
                    return future.result(timeout=_POLL if remaining is None else min(remaining, _POLL))
                except FutureTimeout:
                    continue
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _progress(progress: Progress, total: int) -> tuple[Callable[[ProgressEvent], None], Callable[[], None]]:
    """``(report, close)`` for a callback, a tqdm bar (``True``) or nothing."""
    if progress is None or progress is False:
        return (lambda event: None), (lambda: None)
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="federate", unit="fetch", leave=False)

        def report(event: ProgressEvent) -> None:
            if event["event"] == "done":
                bar.set_postfix_str(f"{event['source']}: {event['rows']} rows", refresh=False)
                bar.update(1)

        return report, bar.close
    callback = progress

    def safe(event: ProgressEvent) -> None:
        try:
            callback(event)
        except Exception:  # a broken progress display must not break the query
            pass

    return safe, (lambda: None)
