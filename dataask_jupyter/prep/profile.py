"""Profile a step's output with SQL at the source: types, nulls, distincts, numbers, top values,
histograms.

Large outputs (more than ``sample_threshold`` rows) are profiled on a sample of about
``sample_rows`` rows: a repeatable Bernoulli sample where the engine supports one (DuckDB,
which also runs cross-database flows), the first rows elsewhere; the method and size are
reported. Quantiles use the database's own functions where ibis has them (DuckDB,
PostgreSQL) and the nearest-rank value from a ROW_NUMBER window elsewhere.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from ..errors import QueryTimeout
from .compiler import Catalog, StepExpr
from .expressions import kind_of
from .preview import json_value

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
NATIVE_QUANTILES = frozenset({"duckdb", "postgres"})
SEEDED_SAMPLE = frozenset({"duckdb"})
SEED = 20240601


@dataclass
class ColumnProfile:
    name: str
    type: str
    kind: str
    nulls: int
    null_pct: float
    distinct: int | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, Any] | None = None
    top_values: list[dict] | None = None
    histogram: list[dict] | None = None

    def to_dict(self) -> dict:
        return {k: json_value(v) for k, v in asdict(self).items()}


@dataclass
class Profile:
    step_id: str
    index: int
    type: str
    rows: int  # rows profiled
    total_rows: int | None  # rows of the step's output (None: not counted)
    sampled: bool
    sample_method: str | None
    columns: list[ColumnProfile]
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"step_id": self.step_id, "index": self.index, "type": self.type, "rows": self.rows,
                "total_rows": self.total_rows, "sampled": self.sampled, "sample_size": self.rows if self.sampled else None,
                "sample_method": self.sample_method, "columns": [c.to_dict() for c in self.columns],
                "seconds": round(self.seconds, 4), "notes": self.notes}


class _Runner:
    def __init__(self, step: StepExpr, catalog: Catalog, timeout: float | None) -> None:
        self.step, self.catalog, self.timeout = step, catalog, timeout

    def rows(self, expr: ir.Expr, max_rows: int = 10_000) -> list[dict]:
        sql = str(ibis.to_sql(expr, dialect=self.step.dialect))
        table = self.catalog.run(sql, connections=self.step.connections, max_rows=max_rows, timeout=self.timeout).table
        return table.to_pylist()

    def scalar(self, expr: ir.Expr, timeout: float | None = None) -> Any:
        sql = str(ibis.to_sql(expr, dialect=self.step.dialect))
        table = self.catalog.run(sql, connections=self.step.connections, max_rows=1,
                                 timeout=timeout or self.timeout).table
        return table.column(0)[0].as_py()


def _sample(step: StepExpr, run: _Runner, threshold: int, sample_rows: int, count_timeout: float):
    """(relation to profile, total rows or None, sampled?, method, notes)."""
    notes: list[str] = []
    n = run.scalar(step.expr.limit(threshold + 1).count(), timeout=count_timeout)
    if n <= threshold:
        return step.expr, n, False, None, notes
    total = None
    try:
        total = run.scalar(step.expr.count(), timeout=count_timeout)
    except QueryTimeout:
        notes.append(f"Counting all rows took longer than {count_timeout:g} s.")
    if total and step.dialect in SEEDED_SAMPLE:
        fraction = min(1.0, sample_rows / total)
        return step.expr.sample(fraction, method="row", seed=SEED), total, True, "bernoulli", notes
    return step.expr.limit(sample_rows), total, True, "first rows", notes


def profile_step(step: StepExpr, catalog: Catalog, *, sample_threshold: int = 1_000_000, sample_rows: int = 100_000,
                 top: int = 10, bins: int = 20, max_columns: int = 60, timeout: float | None = 60,
                 count_timeout: float = 10.0) -> Profile:
    """Profile ``step``'s output at its source.

    Parameters
    ----------
    sample_threshold
        Outputs with more rows are sampled.
    sample_rows
        Approximate sample size.
    top, bins
        Top values per text/boolean column; histogram bins per number column.
    max_columns
        Columns beyond this are listed by name and type only.

    Returns
    -------
    Profile
        Per column: type, null count and %, distinct count, min/max, and for numbers
        mean, std, quantiles (p5-p95) and a histogram; top values for text and booleans.
    """
    started = time.perf_counter()
    run = _Runner(step, catalog, timeout)
    rel, total, sampled, method, notes = _sample(step, run, sample_threshold, sample_rows, count_timeout)
    names = list(rel.columns)[:max_columns]
    if len(rel.columns) > max_columns:
        notes.append(f"Only the first {max_columns} of {len(rel.columns)} columns were profiled.")
    kinds = {c: kind_of(rel[c]) for c in names}
    metrics: dict[str, ir.Scalar] = {"rows": rel.count()}
    for i, c in enumerate(names):
        x = rel[c]
        metrics[f"nn{i}"] = x.count()
        if kinds[c] in ("number", "text", "date", "timestamp", "boolean"):
            metrics[f"d{i}"] = x.nunique()
        if kinds[c] in ("number", "date", "timestamp"):
            metrics[f"min{i}"], metrics[f"max{i}"] = x.min(), x.max()
        if kinds[c] == "number":
            f = x.cast("float64")
            metrics[f"mean{i}"], metrics[f"std{i}"] = f.mean(), f.std()
            if step.dialect in NATIVE_QUANTILES:
                for j, q in enumerate(QUANTILES):
                    metrics[f"q{i}_{j}"] = f.quantile(q)
    stats = run.rows(rel.aggregate(**metrics), max_rows=1)[0]
    rows = int(stats["rows"])
    profiles = []
    for i, c in enumerate(names):
        nulls = rows - int(stats[f"nn{i}"])
        p = ColumnProfile(c, str(rel[c].type()).lstrip("!"), kinds[c], nulls, round(100 * nulls / rows, 2) if rows else 0.0,
                          distinct=stats.get(f"d{i}"), min=stats.get(f"min{i}"), max=stats.get(f"max{i}"),
                          mean=stats.get(f"mean{i}"), std=stats.get(f"std{i}"))
        if kinds[c] == "number" and rows - nulls > 0:
            if step.dialect in NATIVE_QUANTILES:
                p.quantiles = {_qname(q): stats[f"q{i}_{j}"] for j, q in enumerate(QUANTILES)}
            else:
                p.quantiles = nearest_rank_quantiles(run, rel, c, rows - nulls)
            p.histogram = histogram(run, rel, c, p.min, p.max, bins)
        if kinds[c] in ("text", "boolean"):
            p.top_values = top_values(run, rel, c, top)
        profiles.append(p)
    for c in list(rel.columns)[max_columns:]:
        profiles.append(ColumnProfile(c, str(rel[c].type()).lstrip("!"), kind_of(rel[c]), 0, 0.0))
    return Profile(step.step_id, step.index, step.type, rows, total if total is not None else (None if sampled else rows),
                   sampled, method, profiles, time.perf_counter() - started, notes)


def _qname(q: float) -> str:
    return f"p{round(q * 100)}"


def nearest_rank_quantiles(run: _Runner, rel: ir.Table, column: str, n: int) -> dict[str, Any]:
    """Quantiles as the values at ranks floor(q * (n - 1)), for engines without PERCENTILE_CONT."""
    v = rel.filter(rel[column].notnull()).select(v=rel[column].cast("float64"))
    ranked = v.mutate(rn=ibis.row_number().over(order_by=v.v))
    wanted = {_qname(q): math.floor(q * (n - 1)) for q in QUANTILES}
    got = {r["rn"]: r["v"] for r in run.rows(ranked.filter(ranked.rn.isin(sorted(set(wanted.values())))))}
    return {name: got.get(rank) for name, rank in wanted.items()}


def histogram(run: _Runner, rel: ir.Table, column: str, low: Any, high: Any, bins: int) -> list[dict] | None:
    """Equal-width bins between min and max: ``[{"low", "high", "count"}, ...]``."""
    if low is None or high is None:
        return None
    low, high = float(low), float(high)
    if high == low:
        count = run.scalar(rel.filter(rel[column].notnull()).count())
        return [{"low": low, "high": high, "count": int(count)}]
    width = (high - low) / bins
    present = rel.filter(rel[column].notnull())
    x = present[column].cast("float64")
    bucket = ibis.least(((x - low) / width).floor().cast("int64"), bins - 1)
    counts = {r["b"]: r["n"] for r in run.rows(present.group_by(b=bucket).aggregate(n=present.count()))}
    return [{"low": low + i * width, "high": low + (i + 1) * width, "count": int(counts.get(i, 0))} for i in range(bins)]


def top_values(run: _Runner, rel: ir.Table, column: str, top: int) -> list[dict]:
    """The ``top`` most frequent non-null values with their counts."""
    present = rel.filter(rel[column].notnull())
    grouped = present.group_by(value=present[column]).aggregate(count=present.count())
    ordered = grouped.order_by([grouped["count"].desc(), grouped["value"].asc()]).limit(top)
    return [{"value": r["value"], "count": int(r["count"])} for r in run.rows(ordered, max_rows=top)]
