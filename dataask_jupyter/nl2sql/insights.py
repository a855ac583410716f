"""Two or three short sentences computed from the rows of a result (never by a model).

Largest and smallest for a category and a number; first, last, change in % and trend
(least-squares slope) for a time series; the biggest increase and decrease when the
result compares two periods; the value itself for a single number.
"""

from __future__ import annotations

import pyarrow as pa

from .values import column_roles, records

__all__ = ["fmt", "insights"]

MAX_SENTENCES = 3


def fmt(x) -> str:
    """``1234567.891`` -> ``1,234,567.89``; whole numbers without decimals."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    if isinstance(x, float):
        return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.4g}"
    return str(x)


def _pct(a: float, b: float) -> float | None:
    return None if not b else 100.0 * (a - b) / abs(b)


def _name(col: str) -> str:
    return col.replace("_", " ")


def insights(table: pa.Table | None) -> list[str]:
    """Short findings about ``table`` (at most three sentences; empty when nothing to say)."""
    if table is None or table.num_rows == 0:
        return ["The query returned no rows."] if table is not None else []
    roles = column_roles(table)
    nums = [c for c, r in roles.items() if r == "number"]
    cats = [c for c, r in roles.items() if r == "category"]
    times = [c for c, r in roles.items() if r == "time"]
    rows = records(table, 10_000)
    out: list[str] = []
    if table.num_rows == 1 and not cats and not times:
        for c in nums[:MAX_SENTENCES]:
            out.append(f"{_name(c).capitalize()}: {fmt(rows[0][c])}.")
        return out
    if not nums:
        return [f"{table.num_rows:,} rows."]
    change = next((c for c in nums if c.endswith("change_pct")), None)
    y = nums[0]
    if times and not cats:
        out += _series(rows, times[0], y)
    elif cats:
        label = cats[0]
        valid = [r for r in rows if isinstance(r.get(y), int | float)]
        if valid:
            top = max(valid, key=lambda r: r[y])
            low = min(valid, key=lambda r: r[y])
            total = sum(r[y] for r in valid)
            share = f", {100 * top[y] / total:.0f}% of the total" if total > 0 and all(r[y] >= 0 for r in valid) \
                and len(valid) > 1 and not y.endswith("pct") and not y.startswith("avg") else ""
            out.append(f"{top[label]} has the highest {_name(y)} ({fmt(top[y])}{share}).")
            if len(valid) > 1 and low is not top:
                out.append(f"{low[label]} has the lowest ({fmt(low[y])}).")
    if change is not None:
        label = (cats or times or [None])[0]
        valid = [r for r in rows if isinstance(r.get(change), int | float)]
        if valid and label:
            up = max(valid, key=lambda r: r[change])
            down = min(valid, key=lambda r: r[change])
            out.append(f"Largest change: {up[label]} ({up[change]:+.1f}%)"
                       + (f"; smallest: {down[label]} ({down[change]:+.1f}%)." if down is not up else "."))
        elif valid:
            out.append(f"Change: {valid[0][change]:+.1f}%.")
    return out[:MAX_SENTENCES]


def _series(rows: list[dict], t: str, y: str) -> list[str]:
    pts = [(r[t], r[y]) for r in rows if r.get(t) is not None and isinstance(r.get(y), int | float)]
    pts.sort(key=lambda p: str(p[0]))
    if len(pts) < 2:
        return [f"{_name(y).capitalize()}: {fmt(pts[0][1])} ({pts[0][0]})."] if pts else []
    (t0, y0), (t1, y1) = pts[0], pts[-1]
    out = []
    pct = _pct(y1, y0)
    out.append(f"{_name(y).capitalize()} went from {fmt(y0)} ({t0}) to {fmt(y1)} ({t1})"
               + (f", {pct:+.1f}%." if pct is not None else "."))
    peak = max(pts, key=lambda p: p[1])
    out.append(f"The peak was {fmt(peak[1])} ({peak[0]}).")
    n = len(pts)
    mean_x, mean_y = (n - 1) / 2, sum(p[1] for p in pts) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    slope = sum((i - mean_x) * (p[1] - mean_y) for i, p in enumerate(pts)) / sxx
    if mean_y and abs(slope * (n - 1)) / abs(mean_y) > 0.1:
        out.append(f"The overall trend is {'upward' if slope > 0 else 'downward'}.")
    else:
        out.append("The overall trend is flat.")
    return out
