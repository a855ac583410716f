"""Plain-Python views of result tables shared by charts, insights, display and evaluation."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pyarrow as pa

__all__ = ["column_roles", "json_value", "records", "rows"]

TIME_NAMES = {"date", "day", "week", "month", "quarter", "year", "time", "period", "timestamp"}


def json_value(v):
    """A JSON-friendly scalar: Decimal -> float, dates -> ISO text, bytes -> text, NaN -> None."""
    if v is None:
        return None
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, decimal.Decimal):
        f = float(v)
        return int(f) if v == v.to_integral_value() and abs(f) < 2**53 and v.as_tuple().exponent >= 0 else f
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ") if (v.hour, v.minute, v.second, v.microsecond) != (0, 0, 0, 0) \
            else v.date().isoformat()
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def rows(table: pa.Table | None, limit: int | None = None) -> list[list]:
    """Rows as lists of JSON-friendly values."""
    if table is None:
        return []
    t = table.slice(0, limit) if limit is not None else table
    cols = [[json_value(v) for v in t.column(i).to_pylist()] for i in range(t.num_columns)]
    return [list(r) for r in zip(*cols, strict=True)] if cols else []


def records(table: pa.Table | None, limit: int | None = None) -> list[dict]:
    """Rows as dicts (column name -> JSON-friendly value); duplicate names get a suffix."""
    if table is None:
        return []
    names = unique_names(table.column_names)
    return [dict(zip(names, r, strict=True)) for r in rows(table, limit)]


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "column"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


def column_roles(table: pa.Table) -> dict[str, str]:
    """``time``, ``number`` or ``category`` per column (by type, and ``year`` / ``month`` names)."""
    out = {}
    for name, field in zip(unique_names(table.column_names), table.schema, strict=True):
        t = field.type
        low = name.lower()
        if pa.types.is_temporal(t):
            out[name] = "time"
        elif (pa.types.is_integer(t) and low in ("year", "month_of_year")) or (
                pa.types.is_string(t) and low in TIME_NAMES and _iso_like(table.column(name).to_pylist())):
            out[name] = "time"
        elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            out[name] = "number"
        else:
            out[name] = "category"
    return out


def _iso_like(values: list) -> bool:
    sample = [v for v in values[:20] if v is not None]
    return bool(sample) and all(isinstance(v, str) and len(v) >= 4 and v[:4].isdigit() for v in sample)
