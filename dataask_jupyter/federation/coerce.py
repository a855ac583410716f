"""Give loosely typed fetched columns the type DuckDB expects.

SQLite hands back dates as text and booleans as integers, and an all-NULL column has
no type at all. Left alone, DuckDB would then refuse ``order_date >= DATE '2024-01-01'``
or return ``1`` where the single-database answer says ``true``. Only safe, lossless
conversions are attempted (text to date/time, integer to boolean, NULL to anything,
and trailing blanks of ``CHAR(n)`` values, which PostgreSQL pads but DuckDB does not);
a value that does not convert leaves the column as it was.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .oracle import isolated_duckdb

__all__ = ["arrow_type", "coerce_by_name", "coerce_positional"]


@functools.lru_cache(maxsize=256)
def arrow_type(duck_type: str) -> pa.DataType | None:
    """The Arrow type DuckDB uses for ``duck_type`` (``None`` if DuckDB doesn't know it)."""
    con = isolated_duckdb({"threads": 1})
    try:
        return con.execute(f"SELECT CAST(NULL AS {duck_type}) AS v").to_arrow_table().schema.field(0).type
    except (duckdb.Error, ValueError, IndexError):
        return None
    finally:
        con.close()


def _convertible(src: pa.DataType, dst: pa.DataType) -> bool:
    if pa.types.is_null(src):
        return True
    if pa.types.is_string(src) or pa.types.is_large_string(src):
        return pa.types.is_temporal(dst) or pa.types.is_boolean(dst)
    if pa.types.is_integer(src):
        return pa.types.is_boolean(dst)
    return False


_CHAR = re.compile(r"^\s*(N?CHAR|BPCHAR|CHARACTER)\b(?!\s*VARYING)", re.IGNORECASE)


def _coerce_column(column: pa.ChunkedArray, duck_type: str | None) -> pa.ChunkedArray:
    if not duck_type:
        return column
    if _CHAR.match(duck_type) and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return pc.utf8_rtrim(column, characters=" ")  # CHAR(n) padding is not data
    target = arrow_type(duck_type)
    if target is None or column.type == target or not _convertible(column.type, target):
        return column
    try:
        return pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return column


def coerce_positional(table: pa.Table, types: Sequence[str | None]) -> pa.Table:
    """Coerce column ``i`` of ``table`` towards DuckDB type ``types[i]``."""
    if not types or len(types) != table.num_columns:
        return table
    columns = [_coerce_column(table.column(i), t) for i, t in enumerate(types)]
    if all(c is table.column(i) for i, c in enumerate(columns)):
        return table
    return pa.Table.from_arrays(columns, names=table.column_names)


def coerce_by_name(table: pa.Table, types: Mapping[str, str]) -> pa.Table:
    """Coerce columns named in ``types`` towards those DuckDB types."""
    if not types:
        return table
    return coerce_positional(table, [types.get(name) for name in table.column_names])
