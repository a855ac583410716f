"""Offline suggestions: join keys (names, types, value overlap) and "clean this column" steps.

Join keys: every column pair with compatible types is scored by name (``customer_id`` ->
``customers.id`` scores high, a bare ``id`` = ``id`` low) and, for the best few, by value
overlap: up to 200 distinct left values are looked up in the right table *at its source*
(``WHERE key IN (...)``), so it works across databases. Confidence mixes the two.

Cleaning: per column, one aggregate query finds untrimmed text, case/space variants, empty
strings, nulls, numbers and dates stored as text, and outliers by IQR and z-score; each
finding is a ready step (``calculate``, ``fill_nulls``, ``change_type``, ``filter``) the
user can accept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
from rapidfuzz import fuzz

from ..errors import DataAskError
from .compiler import Catalog, StepExpr
from .expressions import column_token, kind_of, sql_trim
from .preview import json_value
from .profile import NATIVE_QUANTILES, _Runner, _sample, nearest_rank_quantiles

OVERLAP_SAMPLE = 200
_GENERIC = {"id", "name", "title", "description", "created_at", "updated_at", "date", "type", "status", "value"}
_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_INT_RE = re.compile(r"^\s*[-+]?\d+\s*$")
_DATE_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


# -- outliers (pure helpers) ------------------------------------------------------------------
def iqr_bounds(q1: float, q3: float, k: float = 1.5) -> tuple[float, float]:
    """Tukey fences: ``[q1 - k*IQR, q3 + k*IQR]``."""
    iqr = q3 - q1
    return q1 - k * iqr, q3 + k * iqr


def zscore_bounds(mean: float, std: float, z: float = 3.0) -> tuple[float, float]:
    """``[mean - z*std, mean + z*std]``."""
    return mean - z * std, mean + z * std


def outliers(values: Iterable[float], method: str = "iqr", *, k: float = 1.5, z: float = 3.0) -> list[float]:
    """Values outside the IQR fences (``method="iqr"``) or beyond ``z`` standard deviations."""
    xs = sorted(float(v) for v in values if v is not None and not math.isnan(float(v)))
    if len(xs) < 4:
        return []
    if method == "iqr":
        def pct(p: float) -> float:  # linear interpolation, as PERCENTILE_CONT
            pos = p * (len(xs) - 1)
            lo, hi = math.floor(pos), math.ceil(pos)
            return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
        low, high = iqr_bounds(pct(0.25), pct(0.75), k)
    elif method == "zscore":
        mean = sum(xs) / len(xs)
        std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
        low, high = zscore_bounds(mean, std, z)
    else:
        raise ValueError("method is 'iqr' or 'zscore'")
    return [x for x in xs if x < low or x > high]


# -- join keys --------------------------------------------------------------------------------
def _singular(name: str) -> str:
    name = name.lower().rsplit(".", 1)[-1]
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("ses") or name.endswith("xes"):
        return name[:-2]
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def name_score(left: str, right: str, right_table: str, left_table: str | None = None) -> tuple[float, str]:
    """How much the names suggest ``left`` = ``right_table.right`` (0-1) and why."""
    lo, ro = left.lower(), right.lower()
    rt = _singular(right_table)
    lt = _singular(left_table) if left_table else None
    if ro == "id" and lo in (f"{rt}_id", f"{rt}id"):
        return 0.97, f"'{left}' names the {rt} id"
    if lo == "id" and lt and ro in (f"{lt}_id", f"{lt}id"):
        return 0.95, f"'{right}' names the {lt} id"
    if lo == rt and ro in ("name", "id", "code", "key"):
        return 0.85, f"'{left}' names a {rt} by its {ro}"
    if lo == ro:
        if lo in _GENERIC:
            return 0.3, f"both are called '{left}' (a generic name)"
        key_like = lo.endswith(("_id", "id", "_key", "_code", "_no", "_number"))
        return (0.9 if key_like else 0.6), f"both are called '{left}'"
    if ro == "id" and lo.endswith("_id") and fuzz.ratio(lo[:-3], rt) >= 80:
        return 0.8, f"'{left}' looks like the {rt} id"
    ratio = fuzz.ratio(lo, ro) / 100
    key_like = any(s.endswith(("id", "key", "code")) for s in (lo, ro))
    return round(ratio * (0.6 if key_like else 0.4), 3), f"similar names ({ratio:.0%})"


def _compatible(a: str, b: str) -> bool:
    return a == b or {a, b} <= {"date", "timestamp"}


@dataclass
class JoinSuggestion:
    left: str
    right_connection: str
    right_table: str
    right: str
    confidence: float
    reasons: list[str]
    overlap: float | None = None

    def step(self, how: str = "inner") -> dict:
        """The join step to add to the flow."""
        return {"type": "join", "right": {"connection": self.right_connection, "table": self.right_table},
                "on": [[self.left, self.right]], "how": how}

    def to_dict(self) -> dict:
        return {"left": self.left, "right": {"connection": self.right_connection, "table": self.right_table,
                                             "column": self.right},
                "confidence": round(self.confidence, 3), "overlap": None if self.overlap is None else round(self.overlap, 3),
                "reasons": self.reasons, "step": self.step()}


def value_overlap(left: StepExpr, left_col: str, right: ir.Table, right_col: str, catalog: Catalog,
                  right_connection: str, right_dialect: str, timeout: float | None = 30) -> float | None:
    """Share of (up to 200) distinct left values found in the right column, or None if no values."""
    lrun = _Runner(left, catalog, timeout)
    x = left.expr[left_col]
    values = [r["v"] for r in lrun.rows(left.expr.filter(x.notnull()).select(v=x).distinct().limit(OVERLAP_SAMPLE),
                                        max_rows=OVERLAP_SAMPLE)]
    if not values:
        return None
    rc = right[right_col]
    literals = [ibis.literal(v) if kind_of(rc) != "text" else ibis.literal(str(v)) for v in values]
    matched = right.filter(rc.isin(literals)).select(rc).distinct().count()
    sql = str(ibis.to_sql(matched, dialect=right_dialect))
    n = catalog.run(sql, connections=(right_connection,), max_rows=1, timeout=timeout).table.column(0)[0].as_py()
    return min(1.0, int(n) / len(values))


def suggest_joins(left: StepExpr, catalog: Catalog, candidates: Sequence[tuple[str, str]], *,
                  left_table: str | None = None, measure: int = 5, min_confidence: float = 0.2) -> list[JoinSuggestion]:
    """Rank join keys between ``left`` (a step's output) and each ``(connection, table)``.

    Parameters
    ----------
    left
        The step the join would follow.
    candidates
        Right-hand tables to consider.
    left_table
        Name of the left table (improves ``id`` <-> ``<left>_id`` matching).
    measure
        How many of the best name/type matches get a value-overlap query.
    """
    scored: list[tuple[float, JoinSuggestion, ir.Table, str]] = []
    left_kinds = {c: kind_of(left.expr[c]) for c in left.expr.columns}
    for connection, table in candidates:
        schema = catalog.schema(connection, table)
        db, _, bare = table.rpartition(".")
        right = ibis.table(schema, name=bare, database=db or None)
        for rc in right.columns:
            rk = kind_of(right[rc])
            for lc, lk in left_kinds.items():
                if not _compatible(lk, rk) or lk in ("boolean", "null"):
                    continue
                score, why = name_score(lc, rc, table, left_table)
                if lk in ("date", "timestamp") or left.expr[lc].type().is_floating():
                    score *= 0.5  # dates and floats are rarely join keys
                if score < 0.25:
                    continue
                s = JoinSuggestion(lc, connection, table, rc, score, [why, f"both are {lk}"])
                scored.append((score, s, right, catalog.dialect(connection)))
    scored.sort(key=lambda x: -x[0])
    out = []
    for i, (score, s, right, dialect) in enumerate(scored):
        if i < measure:
            try:
                s.overlap = value_overlap(left, s.left, right, s.right, catalog, s.right_connection, dialect)
            except DataAskError as exc:  # a slow or failing probe: rank on names and types alone
                s.reasons.append(f"value overlap not measured ({exc.code})")
        if s.overlap is not None:
            s.confidence = 0.45 * score + 0.1 + 0.45 * s.overlap
            s.reasons.append(f"{s.overlap:.0%} of sampled '{s.left}' values exist in '{s.right}'")
        else:
            s.confidence = 0.8 * score + 0.1
        if s.confidence >= min_confidence:
            out.append(s)
    return sorted(out, key=lambda s: -s.confidence)


# -- cleaning ---------------------------------------------------------------------------------
@dataclass
class CleanSuggestion:
    column: str
    kind: str  # trim, case, empty, nulls, type, outliers
    reason: str
    affected: int
    step: dict
    confidence: float = 0.8
    alternatives: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"column": self.column, "kind": self.kind, "reason": self.reason, "affected": self.affected,
                "confidence": round(self.confidence, 3), "step": json_value(self.step),
                "alternatives": json_value(self.alternatives)}


def _calc(column: str, expression: str) -> dict:
    return {"type": "calculate", "name": column, "expression": expression}


def suggest_cleaning(step: StepExpr, catalog: Catalog, columns: Sequence[str] | None = None, *,
                     sample_threshold: int = 1_000_000, sample_rows: int = 100_000, timeout: float | None = 60) -> list[CleanSuggestion]:
    """Proposed cleaning steps for ``columns`` (default: all) of ``step``'s output."""
    run = _Runner(step, catalog, timeout)
    rel, _, _, _, _ = _sample(step, run, sample_threshold, sample_rows, 10.0)
    names = list(columns) if columns is not None else list(rel.columns)
    for c in names:
        if c not in rel.columns:
            from .transforms import col

            col(rel, c, "column")
    metrics: dict[str, ir.Scalar] = {"rows": rel.count()}
    for i, c in enumerate(names):
        x, kind = rel[c], kind_of(rel[c])
        metrics[f"nn{i}"] = x.count()
        if kind == "text":
            metrics[f"untrim{i}"] = (x != sql_trim(x)).cast("int64").sum()
            metrics[f"empty{i}"] = (sql_trim(x) == "").cast("int64").sum()
            metrics[f"d{i}"] = x.nunique()
            metrics[f"dfold{i}"] = sql_trim(x).lower().nunique()
        elif kind == "number":
            f = x.cast("float64")
            metrics[f"d{i}"] = x.nunique()
            metrics[f"mean{i}"], metrics[f"std{i}"] = f.mean(), f.std()
            if step.dialect in NATIVE_QUANTILES:
                metrics[f"q1{i}"], metrics[f"q2{i}"], metrics[f"q3{i}"] = f.quantile(0.25), f.quantile(0.5), f.quantile(0.75)
    stats = run.rows(rel.aggregate(**metrics), max_rows=1)[0]
    rows = int(stats["rows"] or 0)
    out: list[CleanSuggestion] = []
    for i, c in enumerate(names):
        x, kind, tok = rel[c], kind_of(rel[c]), column_token(c)
        nulls = rows - int(stats[f"nn{i}"] or 0)
        if kind == "text":
            out.extend(_text_findings(run, rel, c, tok, stats, i))
        if kind == "number" and rows - nulls >= 4 and not _key_or_code(c, rel[c], stats[f"d{i}"], rows - nulls):
            q = ({"p25": stats[f"q1{i}"], "p50": stats[f"q2{i}"], "p75": stats[f"q3{i}"]}
                 if step.dialect in NATIVE_QUANTILES else nearest_rank_quantiles(run, rel, c, rows - nulls))
            out.extend(_outlier_findings(run, rel, c, q, stats[f"mean{i}"], stats[f"std{i}"]))
            median = q.get("p50")
        else:
            median = None
        if nulls:
            out.append(_null_finding(c, kind, nulls, rows, median))
    return out


def _key_or_code(name: str, x: ir.Value, distinct: int | None, present: int) -> bool:
    """Ids, keys and codes (and 0/1 flags) are numbers where "outlier" means nothing."""
    low = name.lower()
    if re.search(r"(^|_)(id|key|code|no)(_|$)", low) or low.endswith("id") or (distinct or 0) <= 10:
        return True
    return x.type().is_integer() and distinct == present


def _text_findings(run: _Runner, rel: ir.Table, c: str, tok: str, stats: dict, i: int) -> list[CleanSuggestion]:
    found = []
    untrim, empty = int(stats[f"untrim{i}"] or 0), int(stats[f"empty{i}"] or 0)
    if untrim:
        found.append(CleanSuggestion(c, "trim", f"{untrim} value(s) have spaces at the start or end", untrim,
                                     _calc(c, f"trim({tok})"), 0.9))
    variants = int(stats[f"d{i}"] or 0) - int(stats[f"dfold{i}"] or 0)
    if variants > 0:
        found.append(CleanSuggestion(c, "case", f"{variants} value(s) differ only in upper/lower case or spaces",
                                     variants, _calc(c, f"lower(trim({tok}))"), 0.75,
                                     [_calc(c, f"upper(trim({tok}))")]))
    if empty:
        found.append(CleanSuggestion(c, "empty", f"{empty} empty text value(s) could be null", empty,
                                     _calc(c, f"nullif(trim({tok}), '')"), 0.7))
    x = rel[c]
    sample = [r["v"] for r in run.rows(rel.filter(x.notnull() & (sql_trim(x) != "")).select(v=x).distinct().limit(500),
                                       max_rows=500)]
    if sample:
        if all(_INT_RE.match(v) for v in sample):
            target = "int"
        elif all(_NUMBER_RE.match(v) for v in sample):
            target = "float"
        elif all(_DATE_RE.match(v) for v in sample):
            target = "date"
        else:
            target = None
        if target:
            found.append(CleanSuggestion(c, "type", f"every sampled value looks like a {target}", len(sample),
                                         {"type": "change_type", "columns": {c: target}}, 0.85))
    return found


def _outlier_findings(run: _Runner, rel: ir.Table, c: str, q: dict, mean: Any, std: Any) -> list[CleanSuggestion]:
    found = []
    x = rel[c].cast("float64")
    if q.get("p25") is not None and q.get("p75") is not None:
        lo, hi = iqr_bounds(float(q["p25"]), float(q["p75"]))
        n = int(run.scalar(rel.filter((x < lo) | (x > hi)).count()) or 0)
        if n:
            found.append(CleanSuggestion(
                c, "outliers", f"{n} value(s) outside the IQR fences [{lo:.4g}, {hi:.4g}]", n,
                {"type": "filter", "conditions": [{"column": c, "op": "between", "value": [lo, hi]}]}, 0.6))
    if mean is not None and std:
        lo, hi = zscore_bounds(float(mean), float(std))
        n = int(run.scalar(rel.filter((x < lo) | (x > hi)).count()) or 0)
        if n:
            found.append(CleanSuggestion(
                c, "outliers", f"{n} value(s) more than 3 standard deviations from the mean (z-score)", n,
                {"type": "filter", "conditions": [{"column": c, "op": "between", "value": [lo, hi]}]}, 0.5))
    return found


def _null_finding(c: str, kind: str, nulls: int, rows: int, median: Any) -> CleanSuggestion:
    pct = 100 * nulls / rows if rows else 0
    drop = {"type": "filter", "conditions": [{"column": c, "op": "is not null"}]}
    if kind == "number":
        fill = median if median is not None else 0
        step = {"type": "fill_nulls", "values": {c: fill}}
        why = f"{nulls} null(s) ({pct:.1f}%): fill with the median ({json_value(fill)}) or drop those rows"
    elif kind == "text":
        step = {"type": "fill_nulls", "values": {c: "Unknown"}}
        why = f"{nulls} null(s) ({pct:.1f}%): fill with 'Unknown' or drop those rows"
    else:
        step, why = drop, f"{nulls} null(s) ({pct:.1f}%): drop those rows"
    return CleanSuggestion(c, "nulls", why, nulls, step, 0.6 if pct < 50 else 0.3, [] if step is drop else [drop])
