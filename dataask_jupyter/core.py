"""The DataAsk object: settings + store + connections, built once per process or per test."""

from __future__ import annotations

from .config import Settings
from .connections import ConnectionInfo, ConnectionList, ConnectionManager, QueryResult
from .hub_client import team_client
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
        In team mode without ``DATAASK_STORE_URL`` (a kernel or a user's terminal) the default
        is the DataAsk Hub service at ``DATAASK_API_URL`` instead: the store, the key and the
        connections' credentials are never opened here (:mod:`.store.remote`,
        :mod:`.connections.remote`); without ``DATAASK_API_URL`` it is a :class:`ConfigError`.
    """

    def __init__(self, settings: Settings | None = None, repo: Repository | None = None, *, actor: str | None = None):
        self.settings = settings or Settings.from_env()
        client = team_client(self.settings) if repo is None else None
        if client is not None:
            from .connections.remote import RemoteConnectionManager
            from .store.remote import RemoteRepository

            self.repo = RemoteRepository(client)
            self.connections = RemoteConnectionManager(self.settings, self.repo, actor=actor)
        else:
            self.repo = repo or open_store(self.settings.effective_store_url)
            self.connections = ConnectionManager(self.settings, self.repo, actor=actor)
        self._federator = None
        self._askers: dict[str, object] = {}
        self._knowledge = None

    @classmethod
    def local(cls, settings: Settings | None = None, *, actor: str | None = None) -> DataAsk:
        """Over the local store at ``settings.effective_store_url`` in any mode: what the server
        extension runs on (in team mode it is the Hub service, which holds the store and the key)."""
        settings = settings or Settings.from_env()
        return cls(settings, open_store(settings.effective_store_url), actor=actor)

    def asker(self, workspace: str = DEFAULT_WORKSPACE, *, model: str | None = None):
        """The ``%%ask`` pipeline for ``workspace`` (offline engine unless a model is configured).

        Two-database questions run through :meth:`federate`.
        """
        key = f"{workspace}|{model or ''}"
        if key not in self._askers:
            from .nl2sql import Asker

            self._askers[key] = Asker.from_dataask(
                self, workspace=workspace, model=model or self.settings.llm_model,
                run_federated=lambda sql: self.federate(sql, workspace=workspace).table,
                knowledge=self.knowledge,
            )
        return self._askers[key]

    @property
    def knowledge(self):
        """SQL pairs and instructions per workspace, kept in the metadata store."""
        if self._knowledge is None:
            from .nl2sql.knowledge_store import StoreKnowledge

            self._knowledge = StoreKnowledge(self.repo, self.connections.actor)
        return self._knowledge

    @property
    def conversations(self):
        """``%%ask`` conversations in the metadata store (``.open(workspace)``, ``.history(workspace)``)."""
        from .nl2sql.history import ConversationStore

        return ConversationStore(self.repo, self.connections.actor)

    def pin(self, dashboard: str, *, workspace: str = DEFAULT_WORKSPACE, title: str, sql: str,
            connection: str | None = None, federated: bool = False, chart: dict | None = None,
            row_count: int | None = None):
        """Add a query result as a widget to the named dashboard of ``workspace`` (see :mod:`.pinning`)."""
        from .pinning import pin

        return pin(self, dashboard, workspace=workspace, title=title, sql=sql, connection=connection,
                   federated=federated, chart=chart, row_count=row_count)

    def export_conversation(self, dashboard: str, *, workspace: str = DEFAULT_WORKSPACE,
                            conversation_id: int | None = None, actor: str | None = None):
        """Add the questions of a conversation (default: the latest) as widgets to the named
        dashboard of ``workspace``, in one version (see :mod:`.nl2sql.export`)."""
        from .nl2sql.export import export_conversation

        return export_conversation(self, dashboard, workspace=workspace, conversation_id=conversation_id,
                                   actor=actor)

    def ask(self, question: str, *, workspace: str = DEFAULT_WORKSPACE, model: str | None = None, **kwargs):
        """Answer ``question`` with SQL, rows, a chart and insights (see ``Asker.ask``)."""
        return self.asker(workspace, model=model).ask(question, **kwargs)

    @property
    def federator(self):
        """The ``%%federate`` engine (memory + disk cache, Redis when DATAASK_REDIS_URL is set)."""
        if self._federator is None:
            from .federation import Federator

            self._federator = Federator.from_settings(self.settings, max_fetch_rows=self.settings.max_fetch_rows)
        return self._federator

    def federate(self, sql: str, *, workspace: str = DEFAULT_WORKSPACE, explain: bool = False,
                 use_cache: bool = True, timeout: float | None = None, max_rows: int | None = None,
                 progress=None):
        """Run (or with ``explain=True`` only plan) one SQL statement across connections.

        Tables are named ``connection.table`` or ``connection.schema.table``.
        """
        from .connections.sources import managed_sources

        sources = managed_sources(self.connections, workspace)
        if explain:
            return self.federator.explain(sql, sources)
        kwargs = {"max_rows": max_rows} if max_rows is not None else {}
        return self.federator.run(sql, sources=sources, timeout=timeout, use_cache=use_cache,
                                  progress=progress, **kwargs)

    def connect(self, name: str, url: str, *, workspace: str = DEFAULT_WORKSPACE, password: str | None = None,
                replace: bool = False, allow_views: bool = False) -> ConnectionInfo:
        """Test and save a connection (see :meth:`ConnectionManager.add`)."""
        return self.connections.add(name, url, workspace=workspace, password=password, replace=replace,
                                    allow_views=allow_views)

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
