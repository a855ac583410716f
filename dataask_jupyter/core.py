"""The DataAsk object: settings + store + connections, built once per process or per test."""

from __future__ import annotations

from .config import Settings
from .connections import ConnectionInfo, ConnectionList, ConnectionManager, QueryResult
from .keys import RotationReport, rotate_keys
from .store import DEFAULT_WORKSPACE, Repository, open_store


class DataAsk:
    """Everything a front door (CLI, magic, server handler) needs, with no global state.

    Parameters
    ----------
    settings
        Defaults to :meth:`Settings.from_env`.
    repo
        Defaults to the local store at ``settings.effective_store_url`` (migrated on open).
    """

    def __init__(self, settings: Settings | None = None, repo: Repository | None = None, *, actor: str | None = None):
        self.settings = settings or Settings.from_env()
        self.repo = repo or open_store(self.settings.effective_store_url)
        self.connections = ConnectionManager(self.settings, self.repo, actor=actor)

    def connect(self, name: str, url: str, *, workspace: str = DEFAULT_WORKSPACE, password: str | None = None,
                replace: bool = False) -> ConnectionInfo:
        """Test and save a connection (see :meth:`ConnectionManager.add`)."""
        return self.connections.add(name, url, workspace=workspace, password=password, replace=replace)

    def list_connections(self, workspace: str = DEFAULT_WORKSPACE) -> ConnectionList:
        return self.connections.list(workspace)

    def sql(self, name: str, query: str, *, workspace: str = DEFAULT_WORKSPACE, **kwargs) -> QueryResult:
        return self.connections.execute(name, query, workspace=workspace, **kwargs)

    def rotate_key(self) -> RotationReport:
        return rotate_keys(self.settings, self.repo)

    def close(self) -> None:
        self.connections.close()
        engine = getattr(self.repo, "engine", None)
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> DataAsk:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
