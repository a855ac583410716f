"""Flow -> one ibis expression per step -> SQL in the source's dialect, or ibis Python code.

Tables are built as *unbound* ibis tables from the schemas a :class:`Catalog` reports, so
compiling never touches a backend's connection directly; running goes through
``Catalog.run`` (the managed, guarded, capped path in :mod:`.api`).

Single-connection flows compile to the connection's own dialect and run there (all
pushdown). A flow whose joins reach other connections compiles to DuckDB SQL naming tables
``connection.table`` -- the input format of ``%%federate`` -- and ``Catalog.run`` hands it
to the federation engine. A flow cut before its first cross-database join is still a
single-connection flow, so its early steps preview natively.

A bad step raises :class:`FlowError` carrying that step's id; compiling a flow cut before
it (``upto=``) succeeds, so earlier steps still preview. :func:`check_flow` reports every
step's status without raising.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..errors import ConnectionNotFound, DataAskError, SourceError, TableNotFound, did_you_mean
from . import transforms as tx
from .errors import FlowError
from .flow import Flow
from .steps import MAX_PIVOT_VALUES

FEDERATED_DIALECT = "duckdb"


@dataclass
class RunResult:
    table: pa.Table
    truncated: bool = False
    seconds: float = 0.0


@runtime_checkable
class Catalog(Protocol):
    """What compiling and running a flow needs from the outside world."""

    def dialect(self, connection: str) -> str:
        """sqlglot/ibis dialect of ``connection`` (``duckdb``, ``sqlite``, ``postgres``, ``mysql``...)."""
        ...

    def schema(self, connection: str, table: str) -> ibis.Schema:
        """Columns of ``table`` (``schema.table`` accepted); raise ``TableNotFound`` if missing."""
        ...

    def tables(self, connection: str) -> list[str]:
        """Table names, for did-you-mean messages."""
        ...

    def run(self, sql: str, *, connections: Sequence[str], max_rows: int, timeout: float | None = None) -> RunResult:
        """Run ``sql`` on the one connection given, or federated across several."""
        ...


class BackendCatalog:
    """A :class:`Catalog` over plain ibis backends (``{"name": ibis.duckdb.connect(...)}``).

    Runs single-connection SQL with ``backend.sql(...)``; cross-database flows need a
    ``federate(sql, max_rows) -> pyarrow.Table`` callable.
    """

    def __init__(self, backends: Mapping[str, Any], federate=None) -> None:
        self.backends = dict(backends)
        self.federate = federate

    def _backend(self, connection: str):
        if connection not in self.backends:
            raise ConnectionNotFound(f"No connection named '{connection}'.{did_you_mean(connection, self.backends)}")
        return self.backends[connection]

    def dialect(self, connection: str) -> str:
        return self._backend(connection).name

    def schema(self, connection: str, table: str) -> ibis.Schema:
        db, _, bare = table.rpartition(".")
        try:
            return self._backend(connection).get_schema(bare, **({"database": db} if db else {}))
        except Exception as exc:  # each backend raises its own "no such table"
            raise TableNotFound(f"'{connection}' has no table '{table}'.") from exc

    def tables(self, connection: str) -> list[str]:
        return list(self._backend(connection).list_tables())

    def run(self, sql, *, connections, max_rows, timeout=None) -> RunResult:
        if len(connections) > 1:
            if self.federate is None:
                raise FlowError("Cross-database flows need %%federate (no federation engine was given).")
            table = self.federate(sql, max_rows)
        else:
            backend = self._backend(connections[0])
            table = backend.sql(sql, dialect=backend.name).to_pyarrow()
        return RunResult(table.slice(0, max_rows), table.num_rows > max_rows)


def as_catalog(catalog: Catalog | Mapping[str, Any]) -> Catalog:
    return catalog if isinstance(catalog, Catalog) else BackendCatalog(catalog)


SEEDED_BLOCK_SAMPLE = frozenset({"duckdb", "postgres"})


@dataclass(frozen=True)
class SourceSample:
    """Read only about ``rows`` rows of the source table (interactive previews of heavy steps).

    A repeatable block sample (``TABLESAMPLE SYSTEM``) where the dialect has one and the
    table size is known, else the first ``rows`` rows.
    """

    rows: int
    total: int | None = None
    seed: int = 7

    def method(self, dialect: str) -> str:
        return "block" if self.total and dialect in SEEDED_BLOCK_SAMPLE else "first rows"

    def apply(self, t: ir.Table, dialect: str) -> tuple[ir.Table, str]:
        if self.method(dialect) == "block":
            fraction = min(1.0, self.rows / self.total)
            return (t.sample(fraction, method="block", seed=self.seed),
                    f"t = t.sample({fraction:.6g}, method='block', seed={self.seed})")
        return t.limit(self.rows), f"t = t.limit({self.rows})"


@dataclass
class StepExpr:
    """One compiled step: its output as an ibis table expression, and where it runs."""

    step_id: str
    index: int  # 0-based
    type: str
    expr: ir.Table
    dialect: str
    connections: tuple[str, ...]
    code: str
    notes: list[str] = field(default_factory=list)

    @property
    def federated(self) -> bool:
        return len(self.connections) > 1

    @property
    def columns(self) -> dict[str, str]:
        return {name: str(dtype).lstrip("!") for name, dtype in self.expr.schema().items()}

    def sql(self, *, limit: int | None = None, pretty: bool = True) -> str:
        """SQL of the step's output (optionally with ``LIMIT``) in :attr:`dialect`."""
        expr = self.expr.limit(limit) if limit is not None else self.expr
        return str(ibis.to_sql(expr, dialect=self.dialect, pretty=pretty))

    def to_dict(self) -> dict:
        return {"step_id": self.step_id, "index": self.index, "type": self.type, "dialect": self.dialect,
                "connections": list(self.connections), "columns": self.columns, "notes": self.notes}


class _Builder:
    def __init__(self, flow: Flow, catalog: Catalog, dialect: str | None = None,
                 sample: SourceSample | None = None) -> None:
        self.flow = flow
        self.catalog = catalog
        self.sample = sample
        self.connections = tuple(flow.connections())
        self.federated = len(self.connections) > 1
        self.native = FEDERATED_DIALECT if self.federated else catalog.dialect(self.connections[0])
        self.dialect = dialect or self.native

    def table(self, connection: str, name: str) -> ir.Table:
        try:
            schema = self.catalog.schema(connection, name)
        except TableNotFound:
            try:
                names = [t for t in self.catalog.tables(connection) if not t.startswith("_")]
            except DataAskError:
                names = []
            hint = did_you_mean(name, names)
            raise FlowError(f"'{connection}' has no table '{name}'.{hint}",
                            hint=None if hint else f"Tables: {', '.join(names[:30]) or '(none)'}") from None
        db, _, bare = name.rpartition(".")
        if self.federated:
            database: Any = (connection, db) if db else connection
        else:
            database = db or None
        return ibis.table(schema, name=bare, database=database)

    def pivot_values(self, t: ir.Table, step) -> tuple[list[Any], list[str]]:
        if step.column_values is not None:
            return list(step.column_values), []
        c = tx.col(t, step.columns, "columns")
        query = t.select(c).distinct().order_by(c).limit(MAX_PIVOT_VALUES + 1)
        sql = str(ibis.to_sql(query, dialect=self.native))
        result = self.catalog.run(sql, connections=self.connections, max_rows=MAX_PIVOT_VALUES + 1, timeout=30)
        values = result.table.column(0).to_pylist()
        if len(values) > MAX_PIVOT_VALUES:
            raise FlowError(f"columns: '{step.columns}' has more than {MAX_PIVOT_VALUES} distinct values.",
                            hint="List the values you want as columns in 'column_values', or filter first.",
                            field="columns")
        shown = ", ".join(map(str, values[:10])) + (" ..." if len(values) > 10 else "")
        return values, [f"pivot columns from the data ({len(values)}): {shown}"]

    def apply(self, t: ir.Table | None, step) -> tuple[ir.Table, str, list[str]]:
        kind = step.type
        if kind == "source":
            out, code = tx.source(self.table(step.connection, step.table), step, step.connection)
            if self.sample is not None:
                out, sample_code = self.sample.apply(out, self.dialect)
                code += "\n" + sample_code
            return out, code, []
        if kind == "join":
            right = self.table(step.right.connection, step.right.table)
            out, code = tx.join(t, right, step, step.right.connection)
            return out, code, []
        if kind == "pivot":
            values, notes = self.pivot_values(t, step)
            out, code = tx.pivot(t, step, values)
            return out, code, notes
        simple = {"select": tx.select, "hide": tx.hide, "rename": tx.rename,
                  "unpivot": tx.unpivot, "sort": tx.sort, "deduplicate": tx.deduplicate,
                  "fill_nulls": tx.fill_nulls, "limit": tx.limit}
        if kind in simple:
            out, code = simple[kind](t, step)
        else:
            out, code = {"filter": tx.filter_, "calculate": tx.calculate, "aggregate": tx.aggregate,
                         "change_type": tx.change_type}[kind](t, step, self.dialect)
        return out, code, []


def _attribute(exc: Exception, flow: Flow, index: int) -> FlowError:
    """Re-raise a step's problem as a FlowError naming the step."""
    step = flow.steps[index]
    where = f"Step {index + 1} ('{step.id}', {step.type})"
    if isinstance(exc, FlowError):
        message, hint, fld = exc.message, exc.hint, exc.field
    elif isinstance(exc, DataAskError):
        message, hint, fld = exc.message, exc.hint, None
    else:  # ibis refused the operation (types, names)
        message, hint, fld = f"{type(exc).__name__}: {exc}".split("\n")[0], None, None
    return FlowError(f"{where}: {message}", step_id=step.id, field=fld, hint=hint)


def compile_flow(flow: Flow | dict | str, catalog: Catalog | Mapping[str, Any], *,
                 upto: str | int | None = None, dialect: str | None = None,
                 sample: SourceSample | None = None) -> list[StepExpr]:
    """Compile ``flow`` (up to and including step ``upto``) into one :class:`StepExpr` per step.

    Parameters
    ----------
    flow
        A :class:`Flow`, or its dict / JSON text.
    catalog
        A :class:`Catalog`, or a mapping ``{connection name: ibis backend}``.
    upto
        Step id or 1-based number; later steps are not compiled (default: all).
    dialect
        Compile for this SQL dialect instead of the source's (for SQL export only: the
        result is not meant to run on the flow's own connection).
    sample
        Read only a sample of the source table (previews of heavy steps on big tables).

    Raises
    ------
    FlowError
        For the first bad step, with ``step_id`` set; steps before it compile when cut
        with ``upto``.
    """
    return list(iter_compile(Flow.parse(flow).upto(upto), catalog, dialect=dialect, sample=sample))


def iter_compile(flow: Flow, catalog: Catalog | Mapping[str, Any], *, dialect: str | None = None,
                 sample: SourceSample | None = None) -> Iterator[StepExpr]:
    """Yield each step's :class:`StepExpr` in order; raise :class:`FlowError` at the first bad one."""
    builder = _Builder(flow, as_catalog(catalog), dialect, sample)
    t: ir.Table | None = None
    for i, step in enumerate(flow.steps):
        try:
            t, code, notes = builder.apply(t, step)
            t.schema()  # surface ibis type errors here, on this step
        except SourceError:
            raise
        except (DataAskError, ibis.common.exceptions.IbisError, TypeError, ValueError, AttributeError) as exc:
            raise _attribute(exc, flow, i) from None
        yield StepExpr(step.id, i, step.type, t, builder.dialect, builder.connections, code, notes)


@dataclass
class StepStatus:
    step_id: str
    type: str
    ok: bool
    error: dict | None = None
    columns: dict[str, str] | None = None

    def to_dict(self) -> dict:
        return {"step_id": self.step_id, "type": self.type, "ok": self.ok, "error": self.error, "columns": self.columns}


def check_flow(flow: Flow | dict | str, catalog: Catalog | Mapping[str, Any]) -> list[StepStatus]:
    """Status of every step without raising: ok steps carry their output columns, the first
    bad step its error, and the steps after it ``ok=False`` with error code ``blocked``."""
    flow = Flow.parse(flow)
    statuses: list[StepStatus] = []
    try:
        for s in iter_compile(flow, catalog):
            statuses.append(StepStatus(s.step_id, s.type, True, columns=s.columns))
    except FlowError as exc:
        bad = exc.step_id
        for step in flow.steps[len(statuses):]:
            if step.id == bad:
                statuses.append(StepStatus(step.id, step.type, False, exc.to_dict()))
            else:
                statuses.append(StepStatus(step.id, step.type, False, {
                    "code": "blocked", "message": f"Fix step '{bad}' first.", "step_id": step.id, "field": None}))
    return statuses


def flow_sql(flow: Flow | dict | str, catalog: Catalog | Mapping[str, Any], *, step: str | int | None = None,
             dialect: str | None = None, pretty: bool = True) -> str:
    """SQL of the flow's output (or of ``step``), in the source's dialect or ``dialect``.

    For a cross-database flow the default is DuckDB SQL naming ``connection.table``: run it
    with ``%%federate``.
    """
    last = compile_flow(flow, catalog, upto=step, dialect=dialect)[-1]
    try:
        return last.sql(pretty=pretty)
    except (ibis.common.exceptions.IbisError, ValueError, ImportError) as exc:
        raise FlowError(f"Cannot write this flow as {last.dialect} SQL: {str(exc).splitlines()[0]}",
                        hint="Another dialect may support it; the source's own dialect always does.") from None


def flow_code(flow: Flow | dict | str, catalog: Catalog | Mapping[str, Any], *, step: str | int | None = None) -> str:
    """The flow as runnable ibis Python code (one statement per step, commented with the ids)."""
    flow = Flow.parse(flow)
    steps = compile_flow(flow, catalog, upto=step)
    conns = flow.upto(step).connections()
    head = [f"# Ibis code for the prep flow{' ' + repr(flow.output_name) if flow.output_name else ''} "
            "(generated by DataAsk).",
            "# Bind each connection name to an ibis backend first, for example:"]
    for name in conns:
        head.append(f"#   {name} = da.connections.backend({name!r})  # or ibis.connect(...)")
    if len(conns) > 1:
        head.append("# This flow joins tables of several databases: plain ibis cannot run it as one query;"
                    " run the SQL export with %%federate instead.")
    lines = [*head, "import ibis", ""]
    for s in steps:
        lines.append(f"# {s.step_id}: {s.type}")
        lines.extend(s.code.splitlines())
    return "\n".join(lines) + "\n"
