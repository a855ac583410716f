"""Settings read from the environment, with embedded defaults for one person on a laptop.

Nothing here is global state: :func:`Settings.from_env` builds a fresh object and callers
pass it around. Tests build their own ``Settings(home=tmp_path)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ConfigError

PERSONAL = "personal"
TEAM = "team"


def default_home() -> Path:
    """``$DATAASK_HOME`` or a ``dataask`` folder under the user's Jupyter data dir."""
    env = os.environ.get("DATAASK_HOME")
    if env:
        return Path(env).expanduser()
    from jupyter_core.paths import jupyter_data_dir  # light; no kernel or server code

    return Path(jupyter_data_dir()) / "dataask"


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}.")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything DataAsk reads from its environment.

    Parameters
    ----------
    home
        Folder for the SQLite store, the key file and caches (personal mode).
    store_url
        SQLAlchemy URL of the metadata store; ``None`` means SQLite in ``home``.
    mode
        ``"personal"`` (local files and localhost are legitimate sources) or ``"team"``
        (loopback, private ranges and local files refused unless allowlisted).
    secret_keys
        Fernet keys, newest first (``DATAASK_SECRET_KEY="new;old"``). Empty means a
        generated key file in ``home`` (personal mode only).
    allowed_hosts
        Hosts or CIDR ranges an admin allowlisted for team mode.
    split_sessions
        Sessions a source may use at once for one fetch that it would otherwise run on a
        single core (``DATAASK_SPLIT_SESSIONS``; 1 turns splitting off).
    """

    home: Path
    store_url: str | None = None
    mode: str = PERSONAL
    secret_keys: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    max_rows: int = 100_000
    max_fetch_rows: int = 50_000_000  # per source, for intermediates of %%federate
    query_timeout: float = 30.0
    connect_timeout: float = 10.0
    split_sessions: int = 2
    actor: str = field(default_factory=lambda: os.environ.get("USER") or "local")
    redis_url: str | None = None
    redis_prefix: str | None = None  # namespace of the live-events channel (default: from the store)
    llm_model: str | None = None

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Read ``DATAASK_*`` environment variables; keyword overrides win."""
        mode = os.environ.get("DATAASK_MODE", PERSONAL).strip().lower() or PERSONAL
        keys = tuple(k.strip() for k in os.environ.get("DATAASK_SECRET_KEY", "").split(";") if k.strip())
        hosts = tuple(h.strip() for h in os.environ.get("DATAASK_ALLOWED_HOSTS", "").split(",") if h.strip())
        settings = cls(
            home=default_home(),
            store_url=os.environ.get("DATAASK_STORE_URL") or None,
            mode=mode,
            secret_keys=keys,
            allowed_hosts=hosts,
            max_rows=int(_float_env("DATAASK_MAX_ROWS", 100_000)),
            max_fetch_rows=int(_float_env("DATAASK_MAX_FETCH_ROWS", 50_000_000)),
            query_timeout=_float_env("DATAASK_QUERY_TIMEOUT", 30.0),
            connect_timeout=_float_env("DATAASK_CONNECT_TIMEOUT", 10.0),
            split_sessions=max(1, min(8, int(_float_env("DATAASK_SPLIT_SESSIONS", 2)))),
            redis_url=os.environ.get("DATAASK_REDIS_URL") or None,
            redis_prefix=os.environ.get("DATAASK_REDIS_PREFIX", "").strip() or None,
            llm_model=os.environ.get("DATAASK_LLM_MODEL") or None,
        )
        settings = replace(settings, **overrides)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.mode not in (PERSONAL, TEAM):
            raise ConfigError(f"DATAASK_MODE must be 'personal' or 'team', got {self.mode!r}.")

    @property
    def team(self) -> bool:
        return self.mode == TEAM

    @property
    def key_file(self) -> Path:
        return self.home / "secret.key"

    @property
    def sqlite_store_path(self) -> Path:
        return self.home / "dataask.db"

    @property
    def effective_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.sqlite_store_path}"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def protected_paths(self) -> list[Path]:
        """Files that must never be used as a data source (store, its WAL, the key file)."""
        stores = [self.sqlite_store_path]
        if self.store_url and self.store_url.startswith("sqlite"):  # DATAASK_STORE_URL=sqlite:////elsewhere.db
            from sqlalchemy.engine import make_url

            try:
                db = make_url(self.store_url).database
            except Exception:  # an invalid store URL fails later, when the store is opened
                db = None
            if db and db != ":memory:" and not db.startswith("file:"):
                stores.append(Path(db).expanduser())
        paths = [Path(f"{store}{suffix}") for store in stores for suffix in ("", "-wal", "-shm", "-journal")]
        return [*paths, self.key_file]
