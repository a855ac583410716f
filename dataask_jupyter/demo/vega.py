"""The offline ``vega_datasets`` tables as one DuckDB database.

Only datasets that ship inside the ``vega_datasets`` package are loaded, read with
``pkgutil`` from the installed package (``Dataset.raw(use_local=True)``); a dataset that
would need the network is skipped, never downloaded. With vega_datasets 0.9 all seventeen
listed in :data:`VEGA_TABLES` are local: airports, anscombe, barley, burtin, cars,
crimea, driving, iowa-electricity, iris, la-riots, ohlc, seattle-temps, seattle-weather,
sf-temps, stocks, us-employment, wheat.

Table and column names are snake_case (``iowa_electricity``, ``sepal_length``). Dates
become ``DATE`` (``TIMESTAMP`` for the hourly ``seattle_temps`` and ``sf_temps``), whole
numbers with gaps (``cars.horsepower``, ``la_riots.age``) become ``INTEGER``, and each
table carries the dataset's description as its DuckDB comment.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import duckdb
import pandas as pd

VEGA_TABLES = (
    "airports", "anscombe", "barley", "burtin", "cars", "crimea", "driving", "iowa-electricity",
    "iris", "la-riots", "ohlc", "seattle-temps", "seattle-weather", "sf-temps", "stocks",
    "us-employment", "wheat",
)
_STRING_DATES = {"us-employment": ("month",)}  # ISO date strings in the source file


def snake_case(name: str) -> str:
    """Turn ``sepalLength``, ``Miles_per_Gallon`` or ``iowa-electricity`` into snake_case.

    Parameters
    ----------
    name : str
        A dataset or column name.

    Returns
    -------
    str
        Lower-case words joined by single underscores.
    """
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def load_vega_tables(names: tuple[str, ...] = VEGA_TABLES) -> dict[str, pd.DataFrame]:
    """Load the offline vega datasets as typed data frames.

    Parameters
    ----------
    names : tuple of str
        Dataset names as ``vega_datasets`` spells them.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{snake_case table name: frame}`` with snake_case columns; datasets that are not
        available locally are left out (never fetched).
    """
    from vega_datasets.core import Dataset

    tables = {}
    for name in names:
        dataset = Dataset.init(name)
        if not dataset.is_local:
            continue
        with warnings.catch_warnings():  # vega_datasets passes a read_json keyword pandas deprecates
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message=".*convert_dates.*")
            frame = dataset(use_local=True)
        for column in _STRING_DATES.get(name, ()):
            frame[column] = pd.to_datetime(frame[column])
        frame.columns = [snake_case(c) for c in frame.columns]
        frame.attrs["description"] = _first_sentences(dataset.description or "")
        tables[snake_case(name)] = frame
    return tables


def column_types(frame: pd.DataFrame) -> dict[str, str]:
    """Choose a DuckDB type per column.

    Parameters
    ----------
    frame : pandas.DataFrame
        One loaded vega table.

    Returns
    -------
    dict of str to str
        ``{column: SQL type}``; midnight-only datetimes are ``DATE``.
    """
    types = {}
    for column in frame.columns:
        series = frame[column]
        kind = series.dtype.kind
        if kind == "M":
            times = series.dropna()
            types[column] = "DATE" if (times == times.dt.normalize()).all() else "TIMESTAMP"
        elif kind in "iu":
            types[column] = "BIGINT" if series.abs().max() >= 2**31 else "INTEGER"
        elif kind == "f":
            values = series.dropna()
            whole = series.isna().any() and (values == values.round()).all()
            types[column] = "INTEGER" if whole else "DOUBLE"
        elif kind == "b":
            types[column] = "BOOLEAN"
        else:
            types[column] = "VARCHAR"
    return types


def write_vega(path: Path, tables: dict[str, pd.DataFrame] | None = None) -> None:
    """Write the vega tables into a new DuckDB file at ``path``.

    Parameters
    ----------
    path : pathlib.Path
        Where to create the database (the file must not exist yet).
    tables : dict of str to pandas.DataFrame, optional
        Frames from :func:`load_vega_tables`; loaded when omitted.
    """
    tables = load_vega_tables() if tables is None else tables
    with duckdb.connect(str(path)) as con:
        for table, frame in tables.items():
            types = column_types(frame)
            columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
            select = ", ".join(f'CAST("{c}" AS {t})' for c, t in types.items())
            con.execute(f'CREATE TABLE "{table}" ({columns})')
            con.register("frame_view", frame)
            con.execute(f'INSERT INTO "{table}" SELECT {select} FROM frame_view')
            con.unregister("frame_view")
            text = frame.attrs.get("description", "")
            if text:
                con.execute(f"COMMENT ON TABLE \"{table}\" IS '{text.replace(chr(39), chr(39) * 2)}'")
        con.execute("CHECKPOINT")


def _first_sentences(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s*\[\d+\]_", "", text)  # reST footnote markers
    text = re.sub(r"`([^`<]+?)\s*<[^>]*>`_", r"\1", text)  # reST links
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 0 else text[:limit].rstrip() + "..."
