"""Helpers shared by the foundation tests (store, connections, credentials, CLI, magics).

Imported explicitly (``from tests.foundation_fixtures import ...``); nothing here is a
pytest plugin. Everything builds real objects: SQLite and DuckDB files on disk, and
DataAsk apps over a store in a temporary ``DATAASK_HOME``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk

REPO = Path(__file__).resolve().parents[1]
CANARY_PREFIX = "CanaryPw"


def new_key() -> str:
    return Fernet.generate_key().decode()


def make_settings(home: Path, **overrides) -> Settings:
    """Settings for a test: short timeouts so failure paths stay fast."""
    overrides.setdefault("connect_timeout", 5.0)
    overrides.setdefault("query_timeout", 10.0)
    overrides.setdefault("actor", "tester")
    return Settings(home=Path(home), **overrides)


def make_app(home: Path, **overrides) -> DataAsk:
    """A DataAsk over its own local store in ``home``, in any mode (team mode: as the Hub service)."""
    return DataAsk.local(make_settings(home, **overrides))


@pytest.fixture(name="app")
def app_fixture(tmp_path):
    """A DataAsk over a fresh SQLite store (personal mode, generated key file)."""
    with make_app(tmp_path / "home") as a:
        yield a


@pytest.fixture(name="sources")
def sources_fixture(app, tmp_path):
    """Connections ``lite`` (SQLite ``items``) and ``duck`` (DuckDB ``events``) of ``app``; their file paths."""
    lite = sqlite_file(tmp_path / "data" / "shop.sqlite", rows=5)
    duck = duckdb_file(tmp_path / "data" / "events.duckdb", rows=5)
    app.connect("lite", f"sqlite:///{lite}")
    app.connect("duck", f"duckdb:///{duck}")
    return {"lite": lite, "duck": duck}


def sqlite_file(path: Path, rows: int = 5) -> Path:
    """A SQLite database with ``items(id, name, price)`` holding ``rows`` rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)")
    con.executemany("INSERT INTO items VALUES (?, ?, ?)", [(i, f"item{i}", i * 1.5) for i in range(1, rows + 1)])
    con.commit()
    con.close()
    return path


def duckdb_file(path: Path, rows: int = 5) -> Path:
    """A DuckDB database with ``events(id, kind)`` holding ``rows`` rows."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE events AS SELECT range AS id, 'k' || (range % 3) AS kind FROM range(1, {rows + 1})")
    con.close()
    return path


def sqlite_count(path: Path, table: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


# -- servers ------------------------------------------------------------------------------------
def url_of(value) -> str:
    """The URL string a service fixture gives (a str, or an object with ``.url``)."""
    return value if isinstance(value, str) else str(getattr(value, "url", value))


def pg_parts(url) -> dict:
    u = make_url(url_of(url))
    return {"host": u.host, "port": u.port or 5432, "user": u.username, "password": u.password, "dbname": u.database}


def pg_connect(url, **kw):
    """A psycopg (superuser) connection for test set-up, autocommit."""
    import psycopg

    return psycopg.connect(**pg_parts(url), autocommit=True, connect_timeout=10, **kw)


def pg_sqla(url) -> str:
    """The fixture URL as the SQLAlchemy psycopg 3 URL of the metadata store."""
    return make_url(url_of(url)).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def my_parts(url) -> dict:
    u = make_url(url_of(url))
    return {"host": u.host, "port": u.port or 3306, "user": u.username, "password": u.password or "",
            "database": u.database}


def my_connect(url, **kw):
    import pymysql

    return pymysql.connect(**my_parts(url), autocommit=True, connect_timeout=10, **kw)


def with_credentials(url, user: str, password: str | None) -> str:
    """``url`` with another user and (optionally) password, percent-encoded by SQLAlchemy."""
    u = make_url(url_of(url)).set(username=user)
    u = u._replace(password=password)
    return u.render_as_string(hide_password=False)


def without_password(url) -> str:
    return make_url(url_of(url))._replace(password=None).render_as_string(hide_password=False)


# -- subprocesses -------------------------------------------------------------------------------
def dataask_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAASK_") or k.startswith("DATAASK_TEST_")}
    env.update({"DATAASK_HOME": str(home), "PYTHONPATH": str(REPO), "DATAASK_CONNECT_TIMEOUT": "5"})
    env.update(extra)
    return env


def run_cli(home: Path, *args: str, input: str | None = None, env: dict | None = None, timeout: float = 120):
    """Run ``python -m dataask_jupyter.cli ARGS`` with ``DATAASK_HOME=home``."""
    return subprocess.run(
        [sys.executable, "-m", "dataask_jupyter.cli", *args], input=input, capture_output=True, text=True,
        env=env or dataask_env(home), timeout=timeout, cwd=str(home.parent),
    )


def one_json(stdout: str) -> dict:
    """Exactly one JSON object on stdout (and nothing else)."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one JSON line, got: {stdout!r}"
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle`` (plain or percent-encoded)."""
    from urllib.parse import quote

    needles = {needle.encode(), quote(needle, safe="").encode()}
    hits = []
    for p in Path(root).rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            if any(n in data for n in needles):
                hits.append(p)
    return hits
