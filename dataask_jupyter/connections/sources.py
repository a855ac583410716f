"""Connections as the federation engine and the question engine see them."""

from __future__ import annotations

import pyarrow as pa

from ..errors import TooLarge
from ..store import DEFAULT_WORKSPACE, ConnectionRecord
from .manager import ConnectionManager
from .registry import connector_for


class ManagedSource:
    """A :class:`~dataask_jupyter.federation.sources.FederationSource` over a managed connection.

    Every fetch goes through :meth:`ConnectionManager.execute`, so it is re-checked by the
    read-only guard in the source's own dialect, pooled, capped, timed and counted in the
    connection's usage stats.
    """

    def __init__(self, manager: ConnectionManager, name: str, workspace: str = DEFAULT_WORKSPACE,
                 record: ConnectionRecord | None = None) -> None:
        self.manager = manager
        self.name = name
        self.workspace = workspace
        record = record or manager.record(name, workspace)
        self.dialect = connector_for(record.family).dialect
        self.identity = manager.identity_of(record)

    def list_tables(self) -> list[str]:
        return [t for t in self.manager.tables(self.name, self.workspace) if not t.startswith("_")]

    def table_columns(self, table: str) -> dict[str, str]:
        return self.manager.columns(self.name, table, self.workspace)

    def refresh(self) -> None:
        """Forget cached tables and columns: the next lookup asks the database."""
        self.manager.forget_schema(self.name, self.workspace)

    #: the federation engine may hand over SQL it already guarded (a reduced fetch's IN list)
    accepts_prechecked = True

    def estimate_rows(self, table: str) -> float | None:
        return self.manager.estimate_rows(self.name, table, self.workspace)

    #: the federation engine may offer a way to split a fetch (see federation/split.py)
    accepts_split = True

    def fetch_arrow(self, sql: str, *, timeout: float | None = None, max_rows: int | None = None,
                    prechecked: bool = False, split=None) -> pa.Table:
        """Run ``sql``; ``prechecked``: the engine guarded its template and built the rest itself;
        ``split``: a :class:`~dataask_jupyter.federation.split.KeySplit` or ``ScanSplit`` the
        source may use."""
        cap = max_rows if max_rows is not None else self.manager.settings.max_fetch_rows
        result = self.manager.execute(
            self.name, sql, workspace=self.workspace, max_rows=cap, timeout=timeout, internal=True,
            check=not prechecked, split=split,
        )
        if result.truncated and max_rows is None:
            raise TooLarge(
                f"'{self.name}' would send more than {cap:,} rows to the join.",
                hint="Add filters, or raise DATAASK_MAX_FETCH_ROWS.",
            )
        return result.table

    def cancel(self) -> None:
        self.manager.cancel(self.name, self.workspace)


def managed_sources(manager: ConnectionManager, workspace: str = DEFAULT_WORKSPACE) -> dict[str, ManagedSource]:
    """Every connection of ``workspace`` as a federation source, keyed by name."""
    return {rec.name: ManagedSource(manager, rec.name, workspace, rec) for rec in manager.records(workspace)}
