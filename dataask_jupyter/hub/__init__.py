"""What the DataAsk Hub service serves to team-mode kernels, which never open the shared
store or the key: ``%%ask`` conversations, workspace knowledge, and one read-only statement
at a time on a named connection (results as Arrow IPC).

The server extension's handlers call these with a :class:`~dataask_jupyter.dashboards.Grant`
(the role check already done); the kernel side is :mod:`dataask_jupyter.store.remote` and
:mod:`dataask_jupyter.connections.remote`.
"""

from __future__ import annotations

from .asks import AskRecords
from .queries import ARROW_STREAM, arrow_bytes, columns_of, run_query, tables_of

__all__ = ["ARROW_STREAM", "AskRecords", "arrow_bytes", "columns_of", "run_query", "tables_of"]
