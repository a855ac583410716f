"""Embedded demo databases for ``dataask demo``: a shop split over SQLite and DuckDB, plus
the offline vega datasets.

:func:`build_demo` creates the files under a directory and returns connection URLs. Each
file carries a ``_dataask_demo_meta`` table (``key``, ``value``: generator version, seed,
row count per table); a file whose marker matches is reused, anything else is rebuilt.
Files are built in a temporary directory next to the targets and moved into place with
:func:`os.replace`, so an interrupted build never leaves a partial file under a final name.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

import duckdb

from . import shop, vega

__all__ = ["DEMO_CONNECTIONS", "DEMO_VERSION", "META_TABLE", "build_demo", "demo_urls", "read_meta"]

DEMO_VERSION = "1"
META_TABLE = "_dataask_demo_meta"
DEMO_CONNECTIONS: tuple[tuple[str, str], ...] = (
    ("shop_crm", "Demo shop CRM (SQLite): regions and customers"),
    ("shop_sales", "Demo shop sales (DuckDB): products, orders, order items; orders.customer_id -> shop_crm.customers"),
    ("vega", "Classic example datasets from vega_datasets (DuckDB): iris, cars, seattle_weather, stocks, ..."),
)
_FILES = {"shop_crm": "shop_crm.sqlite", "shop_sales": "shop_sales.duckdb", "vega": "vega.duckdb"}
_SCHEMES = {"shop_crm": "sqlite", "shop_sales": "duckdb", "vega": "duckdb"}
_TMP_PREFIX, _TMP_SUFFIX = ".dataask-demo-", ".tmp"
_STALE_SECONDS = 3600


def demo_urls(target: Path, *, include_vega: bool = True) -> dict[str, str]:
    """The connection URLs of the demo files under ``target`` (built or not).

    Parameters
    ----------
    target : pathlib.Path
        Directory holding the demo files.
    include_vega : bool
        Whether to include the ``vega`` connection.

    Returns
    -------
    dict of str to str
        ``{connection name: URL}``, e.g. ``sqlite:////abs/dir/shop_crm.sqlite``.
    """
    root = Path(target).expanduser().resolve()
    return {name: f"{_SCHEMES[name]}:///{(root / _FILES[name]).as_posix()}"
            for name in _FILES if include_vega or name != "vega"}


def build_demo(target: Path, *, seed: int = 7, include_vega: bool = True,
               overwrite: bool = False) -> dict[str, str]:
    """Create the demo databases under ``target`` and return their connection URLs.

    Parameters
    ----------
    target : pathlib.Path
        Directory for the files; created if missing.
    seed : int
        Seed of the shop generator; the same seed gives identical table contents.
    include_vega : bool
        Also build ``vega.duckdb`` from the offline vega datasets.
    overwrite : bool
        Rebuild even if complete files exist. Without it, a file is rebuilt only when its
        ``_dataask_demo_meta`` marker is missing, from another version or seed, or its
        row counts do not match.

    Returns
    -------
    dict of str to str
        ``{"shop_crm": "sqlite:///<abs>/shop_crm.sqlite", "shop_sales":
        "duckdb:///<abs>/shop_sales.duckdb", "vega": "duckdb:///<abs>/vega.duckdb"}``
        (without ``vega`` when ``include_vega`` is false).
    """
    root = Path(target).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    urls = demo_urls(root, include_vega=include_vega)
    wanted = {name: _expected_meta(name, seed) for name in urls}
    todo = [name for name in urls
            if overwrite or not _is_complete(root / _FILES[name], _SCHEMES[name], wanted[name])]
    if not todo:
        return urls
    _remove_stale_tempdirs(root)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=root))
    try:
        data = shop.generate_shop(seed) if {"shop_crm", "shop_sales"} & set(todo) else None
        writers = {"shop_crm": lambda p: shop.write_crm(p, data),
                   "shop_sales": lambda p: shop.write_sales(p, data),
                   "vega": vega.write_vega}
        for name in todo:
            path = tmp / _FILES[name]
            writers[name](path)
            _write_meta(path, _SCHEMES[name], wanted[name])
        for name in todo:
            final = root / _FILES[name]
            for sidecar in _sidecars(final):
                sidecar.unlink(missing_ok=True)
            os.replace(tmp / _FILES[name], final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return urls


def read_meta(path: Path) -> dict[str, str] | None:
    """Read the ``_dataask_demo_meta`` marker of a demo file.

    Parameters
    ----------
    path : pathlib.Path
        A ``.sqlite`` or ``.duckdb`` demo file.

    Returns
    -------
    dict of str to str or None
        The marker, or None if the file is missing, unreadable or has no marker.
    """
    path = Path(path)
    scheme = "sqlite" if path.suffix == ".sqlite" else "duckdb"
    meta = _read(path, scheme, f"SELECT key, value FROM {META_TABLE}")
    return dict(meta) if meta else None


def _expected_meta(name: str, seed: int) -> dict[str, str]:
    meta = {"generator": "dataask_jupyter.demo", "dataset": name, "version": DEMO_VERSION}
    if name != "vega":
        meta["seed"] = str(seed)
    return meta


def _is_complete(path: Path, scheme: str, wanted: dict[str, str]) -> bool:
    meta = read_meta(path) if path.is_file() else None
    if meta is None or any(meta.get(k) != v for k, v in wanted.items()):
        return False
    counts = json.loads(meta.get("row_counts", "{}"))
    return bool(counts) and _row_counts(path, scheme, list(counts)) == counts


def _row_counts(path: Path, scheme: str, tables: list[str] | None = None) -> dict[str, int] | None:
    if tables is None:
        listing = ("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name" if scheme == "sqlite"
                   else "SELECT table_name FROM information_schema.tables ORDER BY table_name")
        tables = [t for (t,) in _read(path, scheme, listing) or [] if t != META_TABLE]
    union = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM \"{t}\"" for t in tables)
    rows = _read(path, scheme, union) if tables else []
    return None if rows is None else {t: int(n) for t, n in rows}


def _read(path: Path, scheme: str, sql: str) -> list[tuple] | None:
    try:
        if scheme == "sqlite":
            with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as con:
                return con.execute(sql).fetchall()
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql).fetchall()
    except (sqlite3.Error, duckdb.Error, OSError):
        return None


def _write_meta(path: Path, scheme: str, meta: dict[str, str]) -> None:
    counts = _row_counts(path, scheme)
    if not counts:
        raise RuntimeError(f"demo build wrote no tables to {path.name}")
    rows = sorted({**meta, "row_counts": json.dumps(counts, sort_keys=True)}.items())
    ddl = f"CREATE TABLE {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
    insert = f"INSERT INTO {META_TABLE} VALUES (?, ?)"
    if scheme == "sqlite":
        with closing(sqlite3.connect(path)) as con, con:
            con.execute(ddl)
            con.executemany(insert, rows)
    else:
        with duckdb.connect(str(path)) as con:
            con.execute(ddl)
            con.executemany(insert, rows)
            con.execute(f"COMMENT ON TABLE {META_TABLE} IS 'DataAsk demo build marker (internal)'")
            con.execute("CHECKPOINT")


def _sidecars(final: Path) -> list[Path]:
    """Journal / WAL files of an old database that must not outlive it."""
    suffixes = ("-journal", "-wal", "-shm") if final.suffix == ".sqlite" else (".wal",)
    return [final.with_name(final.name + s) for s in suffixes]


def _remove_stale_tempdirs(root: Path) -> None:
    """Remove temp dirs left by a build that was killed (older than an hour)."""
    now = time.time()
    for entry in root.glob(f"{_TMP_PREFIX}*{_TMP_SUFFIX}"):
        try:
            if entry.is_dir() and now - entry.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue
