"""Preview a step: the first rows with LIMIT pushed to the source, plus a cheap row count.

The row query is the step's SQL with ``LIMIT n`` (the database stops early where its plan
streams). The count is skipped when fewer than ``n`` rows came back (the count is then
known); otherwise it is ``SELECT COUNT(*) FROM (step LIMIT cap + 1)``, bounded in rows and
in time, so "more than a million rows" costs at most one bounded scan and never a full
count of a huge table.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import time
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from ..display.html import html_table
from ..errors import QueryTimeout
from .compiler import Catalog, StepExpr

PREVIEW_ROWS = 100
COUNT_CAP = 1_000_000
COUNT_TIMEOUT = 1.0


def json_value(value: Any) -> Any:
    """A JSON-safe form of one Arrow/Python value (dates ISO, decimals float, bytes base64)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def table_rows(table: pa.Table) -> list[list]:
    columns = [c.to_pylist() for c in table.columns]
    return [[json_value(v) for v in row] for row in zip(*columns, strict=True)] if columns else []


@dataclass
class Preview:
    """The first rows after one step."""

    step_id: str
    index: int
    type: str
    table: pa.Table
    columns: dict[str, str]
    row_count: int | None
    row_count_capped: bool
    seconds: float
    sql: str
    dialect: str
    connections: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sample: dict | None = None  # {"method", "rows", "source_rows", "table"} when computed on a sample

    @property
    def sampled(self) -> bool:
        return self.sample is not None

    @property
    def rows(self) -> list[list]:
        return table_rows(self.table)

    def to_pandas(self):
        return self.table.to_pandas()

    def to_dict(self) -> dict:
        """``rows``, ``columns`` (names), ``types``, ``row_count``, ``seconds`` and the rest."""
        return {
            "step_id": self.step_id, "index": self.index, "type": self.type,
            "columns": list(self.columns), "types": self.columns, "rows": self.rows,
            "row_count": self.row_count, "row_count_capped": self.row_count_capped,
            "seconds": round(self.seconds, 4), "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "sql": self.sql, "dialect": self.dialect, "connections": list(self.connections), "notes": self.notes,
            "sampled": self.sampled, "sample": self.sample,
        }

    def count_text(self) -> str:
        if self.sampled:
            return "rows of a sample"
        if self.row_count is None:
            return "row count skipped"
        return f"{self.row_count:,}{'+' if self.row_count_capped else ''} rows"

    def _repr_mimebundle_(self, include=None, exclude=None):
        note = (f"Step {self.index + 1} ({self.step_id}, {self.type}): {self.count_text()}, first "
                f"{self.table.num_rows} shown, {self.seconds:.3f} s")
        html = html_table(list(self.columns), self.rows[:50], caption=note)
        return {"text/plain": f"{note}\n{self.to_pandas().head(20).to_string()}", "text/html": html}


def count_sql(step: StepExpr, cap: int) -> str:
    bounded = step.expr.limit(cap + 1)
    return str(ibis.to_sql(bounded.count(), dialect=step.dialect))


def preview_step(step: StepExpr, catalog: Catalog, *, limit: int = PREVIEW_ROWS, count: bool = True,
                 count_cap: int = COUNT_CAP, count_timeout: float = COUNT_TIMEOUT,
                 timeout: float | None = None, sample: dict | None = None) -> Preview:
    """Run the step's SQL with ``LIMIT limit`` at its source and count rows when cheap.

    Parameters
    ----------
    step
        From :func:`~dataask_jupyter.prep.compiler.compile_flow`.
    catalog
        Runs the SQL (the managed connections in :mod:`.api`).
    limit
        Rows to show (LIMIT pushed to the source).
    count
        Count the rows (bounded by ``count_cap`` rows and ``count_timeout`` seconds).
    sample
        Set when ``step`` was compiled on a sample of its source (see
        :class:`~dataask_jupyter.prep.compiler.SourceSample`): rows are shown, not counted.

    Returns
    -------
    Preview
        ``row_count`` is exact, ``count_cap`` with ``row_count_capped`` for bigger
        results, or ``None`` when counting was skipped or timed out (see ``notes``).
    """
    started = time.perf_counter()
    sql = step.sql(limit=limit)
    result = catalog.run(sql, connections=step.connections, max_rows=limit, timeout=timeout)
    timings = {"rows": time.perf_counter() - started}
    notes = list(step.notes)
    table = result.table
    row_count, capped = None, False
    if sample is not None:
        notes.append(f"Computed on a sample of about {sample['rows']:,} rows of '{sample['table']}'"
                     + (f" ({sample['source_rows']:,} rows)" if sample.get("source_rows") else "")
                     + f", {sample['method']}; run the flow for exact results.")
    elif table.num_rows < limit:
        row_count = table.num_rows
    elif count:
        t0 = time.perf_counter()
        try:
            counted = catalog.run(count_sql(step, count_cap), connections=step.connections, max_rows=1,
                                  timeout=count_timeout)
            n = int(counted.table.column(0)[0].as_py())
            row_count, capped = min(n, count_cap), n > count_cap
        except QueryTimeout:
            notes.append(f"Row count skipped: counting took longer than {count_timeout:g} s.")
        timings["count"] = time.perf_counter() - t0
    else:
        notes.append("Row count not requested.")
    columns = {name: str(dtype).lstrip("!") for name, dtype in step.expr.schema().items()}
    if table.num_columns == len(columns):
        table = table.rename_columns(list(columns))
    return Preview(step.step_id, step.index, step.type, table, columns, row_count, capped,
                   time.perf_counter() - started, sql, step.dialect, step.connections, timings, notes, sample)
