"""Execution accuracy of an :class:`Asker` on a JSONL file of questions (Spider / BIRD style).

Each line: ``{"question": ..., "gold_sql": ..., "connection": "name" | ["a", "b"] | omitted}``.
Gold SQL for several connections uses ``connection.table`` names and runs through the
asker's federation runner. A prediction is correct when its result set equals the gold
one: same number of columns and rows, columns matched by content (names ignored, order
free), rows compared as multisets unless the gold SQL ends with ORDER BY, numbers within
a relative tolerance of 1e-6. Latency is reported per stage as p50 / p95.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import DataAskError
from .pipeline import Asker, as_arrow
from .validate import referenced_tables

__all__ = ["EvalCase", "EvalReport", "evaluate", "load_cases", "results_match"]

STAGES = ("retrieve", "generate", "validate", "execute", "chart", "total")
REL_TOL = 1e-6


@dataclass
class EvalCase:
    question: str
    gold_sql: str
    connection: str | list[str] | None = None


@dataclass
class EvalReport:
    """Accuracy, latency per stage and the failures of one evaluation run."""

    total: int = 0
    correct: int = 0
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def to_dict(self) -> dict:
        return {"total": self.total, "correct": self.correct, "accuracy": round(self.accuracy, 4),
                "latency": self.latency, "failures": self.failures}

    def summary(self) -> str:
        """A short text report for the CLI."""
        lines = [f"execution accuracy: {self.correct}/{self.total} = {100 * self.accuracy:.1f}%"]
        for stage, q in self.latency.items():
            lines.append(f"  {stage:<9} p50 {q['p50'] * 1000:8.1f} ms   p95 {q['p95'] * 1000:8.1f} ms")
        for f in self.failures:
            lines.append(f"FAIL {f['question']}\n     {f['reason']}")
        return "\n".join(lines)


def load_cases(lines: Iterable[str]) -> list[EvalCase]:
    """Parse JSONL lines (blank lines and ``#`` comments skipped)."""
    out = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {n}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or "question" not in obj or "gold_sql" not in obj:
            raise ValueError(f"line {n}: needs 'question' and 'gold_sql'")
        out.append(EvalCase(str(obj["question"]), str(obj["gold_sql"]), obj.get("connection")))
    return out


def evaluate(asker: Asker, jsonl_lines: Iterable[str], *, connection: str | None = None, engine=None,
             restrict: bool = True, chart: bool = True) -> EvalReport:
    """Run every question through ``asker`` and compare with the gold SQL's result.

    Parameters
    ----------
    asker
        The asker (its federation runner also runs cross-connection gold SQL).
    jsonl_lines
        Lines of the eval file.
    connection
        Default connection for lines without one.
    engine
        Engine for :meth:`Asker.ask` (default: the asker's).
    restrict
        Limit each question's schema to the line's connection(s) (the Spider/BIRD
        protocol); False lets the engine search the whole workspace.
    chart
        Also choose charts (counted in the latency).
    """
    report = EvalReport()
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    for case in load_cases(jsonl_lines):
        report.total += 1
        conns = case.connection if case.connection is not None else connection
        conn_list = [conns] if isinstance(conns, str) else list(conns or [])
        entry = {"question": case.question, "gold_sql": case.gold_sql, "sql": None, "correct": False}
        try:
            gold = _run_gold(asker, case.gold_sql, conn_list)
        except Exception as exc:  # a broken gold query is reported, not hidden
            entry["reason"] = f"gold SQL failed: {str(exc).splitlines()[0]}"
            report.failures.append(entry)
            report.results.append(entry)
            continue
        try:
            res = asker.ask(case.question, connections=conn_list if (restrict and conn_list) else None,
                            engine=engine, chart=chart)
        except DataAskError as exc:
            entry["reason"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            report.failures.append(entry)
            report.results.append(entry)
            continue
        entry["sql"] = res.sql
        for s in STAGES:
            times[s].append(res.stage_timings.get(s, 0.0))
        ok, why = results_match(gold, res.table, ordered=_has_order_by(case.gold_sql))
        entry["correct"] = ok
        if ok:
            report.correct += 1
        else:
            entry["reason"] = why
            report.failures.append(entry)
        report.results.append(entry)
    report.latency = {s: {"p50": _quantile(v, 0.5), "p95": _quantile(v, 0.95)} for s, v in times.items() if v}
    return report


def _run_gold(asker: Asker, sql: str, conns: list[str]) -> pa.Table:
    qualified = False
    try:
        qualified = any(db for db, _ in referenced_tables(sqlglot.parse_one(sql, read="duckdb")))
    except SqlglotError:
        pass
    if len(conns) > 1 or (qualified and len(conns) != 1):
        if asker.run_federated is None:
            raise RuntimeError("gold SQL spans connections but the asker has no federation runner")
        return as_arrow(asker.run_federated(sql))[0]
    if not conns:
        catalog = asker.catalog()
        tree = sqlglot.parse_one(sql, read="duckdb")
        names = {n.lower() for _, n in referenced_tables(tree)}
        owners = [c for c in catalog.connections
                  if names <= {k[1].lower() for k in catalog.tables if k[0] == c}]
        if not owners:
            raise RuntimeError("no connection holds every table of the gold SQL")
        conns = owners[:1]
    return asker.manager.execute(conns[0], sql, workspace=asker.workspace, max_rows=asker.max_rows).table


def _has_order_by(sql: str) -> bool:
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return "order by" in sql.lower()
    return bool(tree.args.get("order")) if isinstance(tree, exp.Query) else False


def _quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return 0.0
    k = max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))
    return round(s[k], 6)


# -- comparing result sets -----------------------------------------------------------------------------
def _norm(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float | decimal.Decimal):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0) \
            else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return str(v)


def _key(v):
    if v is None:
        return (0, "")
    if isinstance(v, float):
        return (1, float(f"{v:.6g}"))
    return (2, str(v))


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)
    return a == b


def _columns(t: pa.Table) -> list[list]:
    return [[_norm(v) for v in t.column(i).to_pylist()] for i in range(t.num_columns)]


def _kind(col: list) -> str:
    return "number" if all(isinstance(v, float) or v is None for v in col) else "text"


def _same_row(a, b) -> bool:
    return all(_close(x, y) for x, y in zip(a, b, strict=True))


def _numbers(row) -> tuple:
    return tuple(v for v in row if isinstance(v, float))


def _ties_only(gold: list[tuple], pred: list[tuple]) -> bool:
    """Ordered results that differ only between rows with equal numbers (ties, also at a LIMIT cut-off)."""
    if not gold or not all(_same_row(_numbers(a), _numbers(b)) for a, b in zip(gold, pred, strict=True)):
        return False
    counts: dict[tuple, int] = {}
    for row in gold:
        counts[_numbers(row)] = counts.get(_numbers(row), 0) + 1
    last = _numbers(gold[-1])
    return all(_same_row(a, b) or counts[_numbers(a)] > 1 or _numbers(a) == last
               for a, b in zip(gold, pred, strict=True)) and bool(_numbers(gold[0]))


def results_match(gold: pa.Table, pred: pa.Table | None, *, ordered: bool = False) -> tuple[bool, str]:
    """Whether two results hold the same data (see the module docstring); returns (ok, reason)."""
    if pred is None:
        return False, "no result"
    if gold.num_columns != pred.num_columns:
        return False, f"{pred.num_columns} columns, expected {gold.num_columns}"
    if gold.num_rows != pred.num_rows:
        return False, f"{pred.num_rows} rows, expected {gold.num_rows}"
    g, p = _columns(gold), _columns(pred)
    sig = [sorted(_key(v) for v in col) for col in g]
    psig = [sorted(_key(v) for v in col) for col in p]
    options = [[j for j in range(len(p)) if psig[j] == sig[i]] for i in range(len(g))]
    if ordered:  # a tie at a LIMIT cut-off changes a label column's values: allow same-kind columns there
        kind = [_kind(col) for col in p]
        options = [o or [j for j in range(len(p)) if kind[j] == _kind(g[i])] for i, o in enumerate(options)]
    if any(not o for o in options):
        bad = next(i for i, o in enumerate(options) if not o)
        return False, f"no column matches gold column '{gold.column_names[bad]}'"
    for perm in itertools.islice(itertools.product(*options), 5000):
        if len(set(perm)) != len(perm):
            continue
        grows = list(zip(*g, strict=True))
        prows = list(zip(*[p[j] for j in perm], strict=True))
        if not ordered:
            grows = sorted(grows, key=lambda r: tuple(_key(v) for v in r))
            prows = sorted(prows, key=lambda r: tuple(_key(v) for v in r))
        if all(_same_row(ra, rb) for ra, rb in zip(grows, prows, strict=True)):
            return True, ""
        if ordered and _ties_only(grows, prows):
            return True, ""
    return False, "same shape, different values" + (" or order" if ordered else "")
