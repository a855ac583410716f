"""Engine creation and automatic, idempotent migrations for the metadata store."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from ..errors import ConfigError, StoreUnavailable

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def create_store_engine(url: str) -> Engine:
    """Create the SQLAlchemy engine for ``url`` (SQLite in WAL mode, or PostgreSQL)."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError("DATAASK_STORE_URL is not a valid database URL.") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError("The metadata store must be SQLite or PostgreSQL (postgresql+psycopg://...).")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialize migrations between processes (server extension and kernels start together)."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database
        if not db or db == ":memory:":
            yield
            return
        with open(f"{db}.migrate.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(84210731)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(84210731)"))
                conn.commit()


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration up to head. Safe to call on every start."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with _migration_lock(engine), engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except ConfigError:
        raise
    except Exception as exc:  # an unreachable store is a 503, not a crash
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise StoreUnavailable("The DataAsk metadata store is unreachable; try again shortly.") from None
        raise
