"""What the CLI, magics, server handlers and the canvas call: one function per action.

Every function takes a :class:`~dataask_jupyter.core.DataAsk` and a flow (model, dict, JSON
text or path) and returns an object with ``to_dict()`` (JSON-ready). All SQL runs through
``da.connections.execute`` -- the read-only guard, row caps, timeouts and usage stats
apply -- on the flow's own connection. Flows that join tables of several connections run
through the federation engine (``%%federate``'s) by default; pass ``federate=`` to use
another runner, or ``federate=False`` to refuse them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ibis

from ..connections.info import QueryResult
from ..errors import TableNotFound, did_you_mean
from ..store import DEFAULT_WORKSPACE
from . import compiler
from .compiler import RunResult, StepExpr, StepStatus
from .errors import FlowError
from .expressions import complete, function_catalog
from .flow import Flow
from .preview import Preview, preview_step
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

    def __init__(self, da, workspace: str = DEFAULT_WORKSPACE, federate: Federate | bool | None = None) -> None:
        self.da = da
        self.manager = da.connections
        self.workspace = workspace
        self._federate = federate
        self._schemas: dict[tuple[str, str], ibis.Schema] = {}
        self._tables: dict[str, list[str]] = {}

    def dialect(self, connection: str) -> str:
        return self.manager.dialect(connection, self.workspace)

    def tables(self, connection: str) -> list[str]:
        if connection not in self._tables:
            self._tables[connection] = self.manager.tables(connection, self.workspace)
        return self._tables[connection]

    def schema(self, connection: str, table: str) -> ibis.Schema:
        key = (connection, table)
        if key not in self._schemas:
            # check the name first: a failed schema query would count as a connection error
            if "." not in table and table not in self.tables(connection):
                raise TableNotFound(f"'{connection}' has no table '{table}'.{did_you_mean(table, self.tables(connection))}")
            columns = self.manager.columns(connection, table, self.workspace)
            self._schemas[key] = ibis.schema({name: _dtype(t) for name, t in columns.items()})
        return self._schemas[key]

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


def _catalog(da, workspace: str, federate) -> ManagedCatalog:
    return ManagedCatalog(da, workspace, federate)


def compile_steps(da, flow: FlowLike, step: str | int | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                  federate: Federate | bool | None = None) -> tuple[list[StepExpr], ManagedCatalog]:
    """Compile ``flow`` up to ``step`` against the managed connections."""
    catalog = _catalog(da, workspace, federate)
    return compiler.compile_flow(Flow.parse(flow), catalog, upto=step), catalog


def run_flow(da, flow: FlowLike, *, workspace: str = DEFAULT_WORKSPACE, max_rows: int | None = None,
             timeout: float | None = None, federate: Federate | bool | None = None) -> QueryResult:
    """Run the whole flow where its data lives.

    Returns
    -------
    QueryResult
        ``connection`` is the source connection (``a+b`` for cross-database flows); ``sql``
        is what ran; capped at ``max_rows`` (default ``Settings.max_rows``).
    """
    started = time.perf_counter()
    steps, catalog = compile_steps(da, flow, workspace=workspace, federate=federate)
    last = steps[-1]
    sql = last.sql()
    cap = max_rows if max_rows is not None else da.settings.max_rows
    result = catalog.run(sql, connections=last.connections, max_rows=cap, timeout=timeout)
    table = result.table
    if table.num_columns == len(last.expr.columns):
        table = table.rename_columns(list(last.expr.columns))
    return QueryResult("+".join(last.connections), sql, table, result.truncated, time.perf_counter() - started)


def preview_flow(da, flow: FlowLike, step: str | int | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                 limit: int = 100, count: bool = True, count_timeout: float = 2.0, timeout: float | None = None,
                 federate: Federate | bool | None = None) -> Preview:
    """First ``limit`` rows after ``step`` (id or 1-based number; default the last), LIMIT at the source.

    Only the steps up to ``step`` are compiled, so a later bad step never blocks the
    preview of an earlier one. ``to_dict()`` has ``rows``, ``columns``, ``row_count``, ``seconds``.
    """
    started = time.perf_counter()
    steps, catalog = compile_steps(da, flow, step, workspace=workspace, federate=federate)
    preview = preview_step(steps[-1], catalog, limit=limit, count=count, count_timeout=count_timeout, timeout=timeout)
    preview.timings["compile"] = preview.timings.get("compile", 0.0) + (time.perf_counter() - started - preview.seconds)
    preview.seconds = time.perf_counter() - started
    return preview


def flow_sql(da, flow: FlowLike, dialect: str | None = None, *, step: str | int | None = None,
             workspace: str = DEFAULT_WORKSPACE) -> str:
    """SQL of the flow (or of ``step``) for the source's dialect, or for ``dialect``."""
    return compiler.flow_sql(Flow.parse(flow), _catalog(da, workspace, None), step=step, dialect=dialect)


def flow_code(da, flow: FlowLike, *, step: str | int | None = None, workspace: str = DEFAULT_WORKSPACE) -> str:
    """The flow as ibis Python code."""
    return compiler.flow_code(Flow.parse(flow), _catalog(da, workspace, None), step=step)


def check_flow(da, flow: FlowLike, *, workspace: str = DEFAULT_WORKSPACE) -> list[StepStatus]:
    """Every step's status (ok + output columns, or the error), without running queries
    (except pivot value discovery)."""
    return compiler.check_flow(Flow.parse(flow), _catalog(da, workspace, None))


def profile_flow(da, flow: FlowLike, step: str | int | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                 federate: Federate | bool | None = None, **options: Any) -> Profile:
    """Profile the output of ``step`` (see :func:`~dataask_jupyter.prep.profile.profile_step` options)."""
    steps, catalog = compile_steps(da, flow, step, workspace=workspace, federate=federate)
    return profile_step(steps[-1], catalog, **options)


def complete_expression(da, flow: FlowLike, step: str | int, prefix: str, *,
                        workspace: str = DEFAULT_WORKSPACE) -> list[str]:
    """Autocomplete for the calculated field at ``step``: the columns of its input + functions."""
    parsed = Flow.parse(flow)
    index = parsed.index_of(step)
    if index == 0:
        return complete(prefix, [])
    steps, _ = compile_steps(da, parsed, index, workspace=workspace)  # 1-based index = previous step
    return complete(prefix, list(steps[-1].expr.columns))


def expression_functions() -> list[dict]:
    """The function reference of the expression language."""
    return function_catalog()


def suggest_flow_joins(da, flow: FlowLike, step: str | int | None = None,
                       right: dict | Sequence[dict] | None = None, *, workspace: str = DEFAULT_WORKSPACE,
                       federate: Federate | bool | None = None, max_tables: int = 200) -> list[JoinSuggestion]:
    """Join keys from ``step``'s output to ``right`` (``{"connection", "table"}`` or a list of
    them; default: every table of every connection in the workspace), best first."""
    parsed = Flow.parse(flow)
    steps, catalog = compile_steps(da, parsed, step, workspace=workspace, federate=federate)
    if right is None:
        candidates = [(c, t) for c in da.connections.names(workspace) for t in catalog.tables(c)
                      if not t.startswith("_")][:max_tables]
    else:
        items = [right] if isinstance(right, dict) else list(right)
        candidates = [(r["connection"], r["table"]) for r in items]
    return suggest_joins(steps[-1], catalog, candidates, left_table=parsed.source.table)


def suggest_flow_cleaning(da, flow: FlowLike, step: str | int | None = None, columns: Sequence[str] | None = None, *,
                          workspace: str = DEFAULT_WORKSPACE, federate: Federate | bool | None = None
                          ) -> list[CleanSuggestion]:
    """"Clean this column" proposals (as steps) for ``columns`` of ``step``'s output."""
    steps, catalog = compile_steps(da, flow, step, workspace=workspace, federate=federate)
    return suggest_cleaning(steps[-1], catalog, columns)
