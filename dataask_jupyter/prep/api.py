"""What the CLI, magics, server handlers and the canvas call: one function per action.

Every function takes a :class:`~dataask_jupyter.core.DataAsk` and a flow (model, dict, JSON
text or path) and returns an object with ``to_dict()`` (JSON-ready), or text for SQL and
code. The functions build a throwaway :class:`PrepSession`; the canvas keeps one session
per open flow so schemas and compiled steps are reused between previews. All SQL runs through
``da.connections.execute`` -- the read-only guard, row caps, timeouts and usage stats
apply -- on the flow's own connection. Flows that join tables of several connections run
through the federation engine (``%%federate``'s) by default; pass ``federate=`` to use
another runner, or ``federate=False`` to refuse them.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis

from ..connections.info import QueryResult
from ..errors import DataAskError, QueryTimeout, TableNotFound, did_you_mean
from ..store import DEFAULT_WORKSPACE
from . import compiler
from .compiler import RunResult, SourceSample, StepExpr, StepStatus
from .errors import FlowError
from .expressions import complete, function_catalog
from .flow import Flow
from .preview import COUNT_CAP, Preview, count_sql, preview_step
from .profile import Profile, profile_step
from .suggest import CleanSuggestion, JoinSuggestion, suggest_cleaning, suggest_joins

FlowLike = Flow | dict | str | bytes | Path
Federate = Callable[..., RunResult]


def federation_runner(da, workspace: str = DEFAULT_WORKSPACE) -> Federate:
    """Run cross-database SQL (DuckDB dialect, ``connection.table`` names) with ``%%federate``'s engine."""
    try:
        from ..connections.sources import ManagedSource
        from ..federation import Federator
    except ImportError:  # pragma: no cover - federation ships with the package
        raise FlowError("Cross-database flows need %%federate, which is not installed here.") from None
    federator = Federator.from_settings(da.settings)

    def run(sql: str, *, connections: Sequence[str], max_rows: int, timeout: float | None = None) -> RunResult:
        sources = {name: ManagedSource(da.connections, name, workspace) for name in connections}
        result = federator.run(sql, sources=sources, max_rows=max_rows, timeout=timeout)
        return RunResult(result.table, bool(result.truncated), float(result.seconds.get("total", 0.0)))

    return run


def _refuse(sql: str, *, connections: Sequence[str], **_) -> RunResult:
    raise FlowError(f"This flow joins tables of several connections ({', '.join(connections)}): "
                    "cross-database flows need %%federate.",
                    hint="Run the SQL from `dataask prep sql FLOW.json` in a %%federate cell.")


class ManagedCatalog:
    """A :class:`~dataask_jupyter.prep.compiler.Catalog` over the managed connections of ``da``."""

    def __init__(self, da, workspace: str = DEFAULT_WORKSPACE, federate: Federate | bool | None = None, *,
                 ttl: float = 60.0) -> None:
        self.da = da
        self.manager = da.connections
        self.workspace = workspace
        self.ttl = ttl
        self._federate = federate
        self._cache: dict[tuple, tuple[float, Any]] = {}

    def _cached(self, key: tuple, load: Callable[[], Any]) -> Any:
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = load()
        self._cache[key] = (now, value)
        return value

    def identity(self, connection: str) -> str:
        """Changes when the connection is re-pointed (part of compile cache keys)."""
        return self._cached(("identity", connection), lambda: self.manager.identity(connection, self.workspace))

    def dialect(self, connection: str) -> str:
        return self._cached(("dialect", connection), lambda: self.manager.dialect(connection, self.workspace))

    def tables(self, connection: str) -> list[str]:
        return self._cached(("tables", connection), lambda: self.manager.tables(connection, self.workspace))

    def schema(self, connection: str, table: str) -> ibis.Schema:
        def load() -> ibis.Schema:
            # check the name first: a failed schema query would count as a connection error
            if "." not in table and table not in self.tables(connection):
                raise TableNotFound(f"'{connection}' has no table '{table}'.{did_you_mean(table, self.tables(connection))}")
            columns = self.manager.columns(connection, table, self.workspace)
            return ibis.schema({name: _dtype(t) for name, t in columns.items()})

        return self._cached(("schema", connection, table), load)

    def run(self, sql: str, *, connections: Sequence[str], max_rows: int, timeout: float | None = None) -> RunResult:
        if len(connections) == 1:
            r = self.manager.execute(connections[0], sql, workspace=self.workspace, max_rows=max_rows, timeout=timeout)
            return RunResult(r.table, r.truncated, r.seconds)
        if self._federate is False:
            return _refuse(sql, connections=connections)
        if self._federate in (None, True):
            self._federate = federation_runner(self.da, self.workspace)
        return self._federate(sql, connections=connections, max_rows=max_rows, timeout=timeout)


def _dtype(name: str):
    try:
        return ibis.dtype(name)
    except Exception:  # exotic type ibis cannot parse: treat as text
        return ibis.dtype("string")


BLOCKING_STEPS = frozenset({"aggregate", "pivot", "sort", "deduplicate"})
#: Rows of the source above which heavy steps preview on a sample ("auto"): a columnar engine
#: scans a million rows in tens of milliseconds, a row store needs several times longer.
SOURCE_LIMITS = {"duckdb": 1_000_000}
DEFAULT_SOURCE_LIMIT = 100_000
AUTO = "auto"


@dataclass
class RowCount:
    step_id: str
    row_count: int | None  # None: counting took longer than the timeout
    capped: bool
    seconds: float

    def to_dict(self) -> dict:
        return {"step_id": self.step_id, "row_count": self.row_count, "row_count_capped": self.capped,
                "seconds": round(self.seconds, 4)}


def _cache_key(flow: Flow, catalog: ManagedCatalog) -> str:
    """The flow without cosmetic fields, plus the identity of every connection it reads."""
    data = flow.model_dump(mode="json", exclude={"ui", "output_name", "save_as"})
    for step in data["steps"]:
        step.pop("ui", None)
        step.pop("label", None)
    identities = []
    for name in flow.connections():
        try:
            identities.append(catalog.identity(name))
        except DataAskError:  # unknown connection: compiling reports it on the step
            identities.append(f"missing:{name}")
    data["connections"] = identities
    return json.dumps(data, sort_keys=True, default=str)


class PrepSession:
    """Many prep calls on one DataAsk (the canvas keeps one per open flow).

    Caches schemas, table lists and compiled steps for ``ttl`` seconds, so previewing step
    after step of a flow compiles each prefix once and asks the database only for rows.
    Results have ``to_dict()`` (``sql`` and ``code`` return text).
    """

    def __init__(self, da, workspace: str = DEFAULT_WORKSPACE, federate: Federate | bool | None = None, *,
                 ttl: float = 60.0, max_cached: int = 64) -> None:
        self.da = da
        self.workspace = workspace
        self.catalog = ManagedCatalog(da, workspace, federate, ttl=ttl)
        self.ttl = ttl
        self.max_cached = max_cached
        self._compiled: OrderedDict[str, tuple[float, list[StepExpr]]] = OrderedDict()

    def compile(self, flow: FlowLike, step: str | int | None = None, *,
                sample: SourceSample | None = None) -> list[StepExpr]:
        """Compile ``flow`` up to ``step`` (cached by content; a bad step raises :class:`FlowError`)."""
        cut = Flow.parse(flow).upto(step)
        key = _cache_key(cut, self.catalog) + repr(sample)
        hit = self._compiled.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            self._compiled.move_to_end(key)
            return hit[1]
        steps = compiler.compile_flow(cut, self.catalog, sample=sample)
        self._compiled[key] = (time.monotonic(), steps)
        while len(self._compiled) > self.max_cached:
            self._compiled.popitem(last=False)
        return steps

    def source_rows(self, flow: FlowLike, *, timeout: float = 1.0) -> int | None:
        """Rows of the flow's source table (cached; ``None`` if counting took longer than ``timeout``)."""
        first = self.compile(Flow.parse(flow), 1)[-1]

        def load() -> int | None:
            sql = str(ibis.to_sql(first.expr.count(), dialect=first.dialect))
            try:
                result = self.catalog.run(sql, connections=first.connections, max_rows=1, timeout=timeout)
            except QueryTimeout:
                return None
            return int(result.table.column(0)[0].as_py())

        src = Flow.parse(flow).source
        return self.catalog._cached(("rows", src.connection, src.table), load)

    def sample_for(self, flow: FlowLike, step: str | int | None = None,
                   source_limit: int | str | None = AUTO) -> SourceSample | None:
        """The source sample a preview of ``step`` uses: only for steps that must read every
        row (aggregate, pivot, sort, deduplicate) of a single-connection flow whose source
        table has more than ``source_limit`` rows (``"auto"``: 1M for DuckDB, 100k for others)."""
        cut = Flow.parse(flow).upto(step)
        if not source_limit or len(cut.connections()) > 1 or not any(s.type in BLOCKING_STEPS for s in cut.steps):
            return None
        if source_limit == AUTO:
            source_limit = SOURCE_LIMITS.get(self.catalog.dialect(cut.source.connection), DEFAULT_SOURCE_LIMIT)
        total = self.source_rows(cut)
        if total is not None and total <= source_limit:
            return None
        return SourceSample(source_limit, total)

    def run(self, flow: FlowLike, *, max_rows: int | None = None, timeout: float | None = None) -> QueryResult:
        """Run the whole flow where its data lives (see :func:`run_flow`)."""
        started = time.perf_counter()
        last = self.compile(flow)[-1]
        sql = last.sql()
        cap = max_rows if max_rows is not None else self.da.settings.max_rows
        result = self.catalog.run(sql, connections=last.connections, max_rows=cap, timeout=timeout)
        table = result.table
        if table.num_columns == len(last.expr.columns):
            table = table.rename_columns(list(last.expr.columns))
        return QueryResult("+".join(last.connections), sql, table, result.truncated, time.perf_counter() - started)

    def preview(self, flow: FlowLike, step: str | int | None = None, *, limit: int = 100, count: bool = True,
                count_timeout: float = 1.0, timeout: float | None = None,
                source_limit: int | str | None = AUTO) -> Preview:
        """First ``limit`` rows after ``step`` (see :func:`preview_flow`).

        Steps that must read every row (aggregate, pivot, sort, deduplicate) of a source
        table bigger than ``source_limit`` rows (``"auto"``: 1M on DuckDB, 100k elsewhere)
        are previewed on a sample of it (marked ``sampled``, not counted);
        ``source_limit=None`` always reads everything.
        """
        started = time.perf_counter()
        cut = Flow.parse(flow).upto(step)
        sample = self.sample_for(cut, None, source_limit)
        last = self.compile(cut, sample=sample)[-1]
        compiled = time.perf_counter() - started
        info = None if sample is None else {"method": sample.method(last.dialect), "rows": sample.rows,
                                            "source_rows": sample.total, "table": cut.source.table}
        preview = preview_step(last, self.catalog, limit=limit, count=count, count_timeout=count_timeout,
                               timeout=timeout, sample=info)
        preview.timings["compile"] = compiled
        preview.seconds = time.perf_counter() - started
        return preview

    def count(self, flow: FlowLike, step: str | int | None = None, *, cap: int = COUNT_CAP,
              timeout: float = 5.0) -> RowCount:
        """Rows after ``step``, counted up to ``cap`` (the canvas asks after showing the rows)."""
        started = time.perf_counter()
        last = self.compile(flow, step)[-1]
        try:
            result = self.catalog.run(count_sql(last, cap), connections=last.connections, max_rows=1, timeout=timeout)
        except QueryTimeout:
            return RowCount(last.step_id, None, False, time.perf_counter() - started)
        n = int(result.table.column(0)[0].as_py())
        return RowCount(last.step_id, min(n, cap), n > cap, time.perf_counter() - started)

    def profile(self, flow: FlowLike, step: str | int | None = None, **options: Any) -> Profile:
        return profile_step(self.compile(flow, step)[-1], self.catalog, **options)

    def sql(self, flow: FlowLike, dialect: str | None = None, *, step: str | int | None = None) -> str:
        return compiler.flow_sql(Flow.parse(flow), self.catalog, step=step, dialect=dialect)

    def code(self, flow: FlowLike, *, step: str | int | None = None) -> str:
        return compiler.flow_code(Flow.parse(flow), self.catalog, step=step)

    def check(self, flow: FlowLike) -> list[StepStatus]:
        return compiler.check_flow(Flow.parse(flow), self.catalog)

    def complete(self, flow: FlowLike, step: str | int, prefix: str) -> list[str]:
        parsed = Flow.parse(flow)
        index = parsed.index_of(step)
        if index == 0:
            return complete(prefix, [])
        return complete(prefix, list(self.compile(parsed, index)[-1].expr.columns))  # the step's input

    def suggest_joins(self, flow: FlowLike, step: str | int | None = None, right: dict | Sequence[dict] | None = None,
                      *, max_tables: int = 200) -> list[JoinSuggestion]:
        parsed = Flow.parse(flow)
        last = self.compile(parsed, step)[-1]
        if right is None:
            candidates = [(c, t) for c in self.da.connections.names(self.workspace) for t in self.catalog.tables(c)
                          if not t.startswith("_")][:max_tables]
        else:
            items = [right] if isinstance(right, dict) else list(right)
            candidates = [(r["connection"], r["table"]) for r in items]
        return suggest_joins(last, self.catalog, candidates, left_table=parsed.source.table)

    def suggest_cleaning(self, flow: FlowLike, step: str | int | None = None,
                         columns: Sequence[str] | None = None) -> list[CleanSuggestion]:
        return suggest_cleaning(self.compile(flow, step)[-1], self.catalog, columns)


# -- one-call front doors (CLI, handlers): a fresh session each ----------------------------------------
def compile_steps(da, flow: FlowLike, step: str | int | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                  federate: Federate | bool | None = None) -> tuple[list[StepExpr], ManagedCatalog]:
    """Compile ``flow`` up to ``step`` against the managed connections."""
    session = PrepSession(da, workspace, federate)
    return session.compile(flow, step), session.catalog


def run_flow(da, flow: FlowLike, *, workspace: str = DEFAULT_WORKSPACE, max_rows: int | None = None,
             timeout: float | None = None, federate: Federate | bool | None = None) -> QueryResult:
    """Run the whole flow where its data lives.

    Returns
    -------
    QueryResult
        ``connection`` is the source connection (``a+b`` for cross-database flows); ``sql``
        is what ran; capped at ``max_rows`` (default ``Settings.max_rows``).
    """
    return PrepSession(da, workspace, federate).run(flow, max_rows=max_rows, timeout=timeout)


def preview_flow(da, flow: FlowLike, step: str | int | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                 limit: int = 100, count: bool = True, count_timeout: float = 1.0, timeout: float | None = None,
                 source_limit: int | str | None = AUTO, federate: Federate | bool | None = None) -> Preview:
    """First ``limit`` rows after ``step`` (id or 1-based number; default the last), LIMIT at the source.

    Only the steps up to ``step`` are compiled, so a later bad step never blocks the
    preview of an earlier one. Aggregates, pivots, sorts and dedupes of sources bigger than
    ``source_limit`` rows are previewed on a sample (``sampled`` in the result).
    ``to_dict()`` has ``rows``, ``columns``, ``row_count``, ``seconds``.
    """
    return PrepSession(da, workspace, federate).preview(flow, step, limit=limit, count=count,
                                                        count_timeout=count_timeout, timeout=timeout,
                                                        source_limit=source_limit)


def flow_sql(da, flow: FlowLike, dialect: str | None = None, *, step: str | int | None = None,
             workspace: str = DEFAULT_WORKSPACE) -> str:
    """SQL of the flow (or of ``step``) for the source's dialect, or for ``dialect``."""
    return PrepSession(da, workspace).sql(flow, dialect, step=step)


def flow_code(da, flow: FlowLike, *, step: str | int | None = None, workspace: str = DEFAULT_WORKSPACE) -> str:
    """The flow as ibis Python code."""
    return PrepSession(da, workspace).code(flow, step=step)


def check_flow(da, flow: FlowLike, *, workspace: str = DEFAULT_WORKSPACE) -> list[StepStatus]:
    """Every step's status (ok + output columns, or the error), without running queries
    (except pivot value discovery)."""
    return PrepSession(da, workspace).check(flow)


def profile_flow(da, flow: FlowLike, step: str | int | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                 federate: Federate | bool | None = None, **options: Any) -> Profile:
    """Profile the output of ``step`` (see :func:`~dataask_jupyter.prep.profile.profile_step` options)."""
    return PrepSession(da, workspace, federate).profile(flow, step, **options)


def complete_expression(da, flow: FlowLike, step: str | int, prefix: str, *,
                        workspace: str = DEFAULT_WORKSPACE) -> list[str]:
    """Autocomplete for the calculated field at ``step``: the columns of its input + functions."""
    return PrepSession(da, workspace).complete(flow, step, prefix)


def expression_functions() -> list[dict]:
    """The function reference of the expression language."""
    return function_catalog()


def suggest_flow_joins(da, flow: FlowLike, step: str | int | None = None,
                       right: dict | Sequence[dict] | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                       federate: Federate | bool | None = None, max_tables: int = 200) -> list[JoinSuggestion]:
    """Join keys from ``step``'s output to ``right`` (``{"connection", "table"}`` or a list of
    them; default: every table of every connection in the workspace), best first."""
    return PrepSession(da, workspace, federate).suggest_joins(flow, step, right, max_tables=max_tables)


def suggest_flow_cleaning(da, flow: FlowLike, step: str | int | None = None, columns: Sequence[str] | None = None, *,
                          workspace: str = DEFAULT_WORKSPACE, federate: Federate | bool | None = None
                          ) -> list[CleanSuggestion]:
    """"Clean this column" proposals (as steps) for ``columns`` of ``step``'s output."""
    return PrepSession(da, workspace, federate).suggest_cleaning(flow, step, columns)
