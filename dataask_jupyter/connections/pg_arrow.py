"""Fast PostgreSQL → Arrow: ``COPY (query) TO STDOUT (FORMAT csv)`` parsed by pyarrow.

Building Arrow from DB-API rows costs ~10 µs per row once ``numeric`` values arrive as
Python ``Decimal`` objects; a 1M-row federation fetch spent most of its time there. COPY
streams the rows as CSV and pyarrow parses them in C, with column types taken from the
query's own result description (no inference), on the caller's read-only transaction.

Only plain types take this path (integers, floats, numeric, text, bool, date, timestamp);
:func:`describe` returns ``None`` for anything else and the caller uses the row path.
"""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

__all__ = ["CopyUnsupported", "beyond_calendar", "copy_to_arrow", "describe", "numeric_from_text", "wrap_capped"]

# PostgreSQL type OIDs (pg_type.oid, stable across versions)
_FIXED = {
    16: pa.bool_(), 18: pa.string(), 19: pa.string(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(),
    25: pa.string(), 700: pa.float32(), 701: pa.float64(), 1042: pa.string(), 1043: pa.string(),
    1082: pa.date32(), 1114: pa.timestamp("us"),
}
_NUMERIC = 1700
_UNCONSTRAINED = pa.large_string()  # marks numeric without typmod: read as text, scale from the data


# what Python can hold: 0001-01-01 .. 9999-12-31, in days and in microseconds since 1970
_DAYS = (-719_162, 2_932_896)
_MICROS = (-62_135_596_800_000_000, 253_402_300_799_999_999)


def beyond_calendar(column: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a date or timestamp column holds a value outside years 1-9999.

    Binary readers turn PostgreSQL's +/-infinity into sentinel day or microsecond counts
    instead of failing; such a result must be read as text instead.
    """
    kind = column.type
    if not (pa.types.is_date32(kind) or pa.types.is_timestamp(kind)) or column.null_count == len(column):
        return False
    date = pa.types.is_date32(kind)
    low, high = pc.min_max(column.cast(pa.int32() if date else pa.int64())).values()
    lowest, highest = _DAYS if date else _MICROS
    if not date and kind.unit != "us":
        scale = {"s": 1_000_000, "ms": 1_000, "ns": 0.001}[kind.unit]
        lowest, highest = lowest / scale, highest / scale
    return low.as_py() < lowest or high.as_py() > highest


class CopyUnsupported(Exception):
    """The result cannot go through COPY CSV as-is; use the row path."""


def wrap_capped(sql: str, limit: int) -> str:
    """``sql`` as a subquery with a row limit (newline first: the query may end in a comment)."""
    body = sql.strip().rstrip(";").rstrip()
    return f"SELECT * FROM (\n{body}\n) AS dataask_q LIMIT {int(limit)}"


def describe(cursor, sql: str) -> tuple[list[str], list[pa.DataType]] | None:
    """Names and Arrow types of ``sql``'s result, or ``None`` when a column needs the row path."""
    cursor.execute(wrap_capped(sql, 0))
    names, types = [], []
    for column in cursor.description or ():
        oid = column.type_code
        if oid == _NUMERIC:
            precision, scale = column.precision, column.scale
            if precision is not None and scale is not None and 0 < precision <= 38 and 0 <= scale <= precision:
                types.append(pa.decimal128(precision, scale))
            else:
                types.append(_UNCONSTRAINED)
        elif oid in _FIXED:
            types.append(_FIXED[oid])
        else:
            return None
        names.append(column.name)
    return names, types


_SCALE = re.compile(r"\.(\d+)")


def numeric_from_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Unconstrained ``numeric`` arrives as text: decimal128 with the largest scale seen."""
    values = column.drop_null()
    if len(values) == 0:
        return column.cast(pa.decimal128(38, 0))
    texts = values.to_pylist()
    if any(t in ("NaN", "Infinity", "-Infinity") for t in texts):
        return column.cast(pa.float64())
    scale = max((len(m.group(1)) for t in texts if (m := _SCALE.search(t))), default=0)
    whole = max(len(t.lstrip("-").partition(".")[0]) for t in texts)
    if whole + scale > 38:
        raise CopyUnsupported("numeric wider than 38 digits")
    return pc.cast(column, pa.decimal128(max(whole + scale, 1), scale))


def _parse(buf: io.BytesIO, slots: list[str], types: list[pa.DataType]) -> pa.Table:
    buf.seek(0)
    types = [pa.string() if pa.types.is_decimal(t) else t for t in types]
    return pcsv.read_csv(
        buf,
        read_options=pcsv.ReadOptions(column_names=slots, block_size=1 << 22),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=dict(zip(slots, types, strict=True)),
            true_values=["t"], false_values=["f"], null_values=[""],
            strings_can_be_null=True, quoted_strings_can_be_null=False,
        ),
    )


def copy_to_arrow(cursor, sql: str, names: list[str], types: list[pa.DataType], limit: int) -> pa.Table:
    """Run ``sql`` (capped at ``limit`` rows) through COPY and parse it with ``types``."""
    buf = io.BytesIO()
    with cursor.copy(f"COPY ({wrap_capped(sql, limit)}) TO STDOUT (FORMAT csv)") as copy:
        for block in copy:
            buf.write(block)
    # positional names: the query may return the same name twice
    slots = [f"c{i}" for i in range(len(names))]
    if buf.tell() == 0:
        return pa.Table.from_arrays([pa.array([], t if t != _UNCONSTRAINED else pa.decimal128(38, 0)) for t in types],
                                    names=names)
    try:
        table = _parse(buf, slots, types)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # 'infinity' dates, BC years: such date/time columns stay text; the rest keep their types
        loose = [pa.string() if pa.types.is_temporal(t) else t for t in types]
        try:
            table = _parse(buf, slots, loose)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise CopyUnsupported(str(err)) from None
        for i, (slot, kind) in enumerate(zip(slots, types, strict=True)):
            if pa.types.is_temporal(kind):
                try:
                    table = table.set_column(i, slot, table.column(slot).cast(kind))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
    columns = []
    for slot, kind in zip(slots, types, strict=True):
        column = table.column(slot)
        if pa.types.is_decimal(kind):  # parsed as text: pyarrow's CSV decimal reader rejects NULL ('')
            try:
                column = pc.cast(column, kind)
            except pa.ArrowInvalid:  # numeric(p, s) may hold NaN: as for unconstrained numeric
                kind = _UNCONSTRAINED
        if kind == _UNCONSTRAINED:
            try:
                column = numeric_from_text(column)
            except (pa.ArrowInvalid, ValueError) as err:
                raise CopyUnsupported(str(err)) from None
        columns.append(column)
    return pa.Table.from_arrays(columns, names=names)
