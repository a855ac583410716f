"""Wire models of the routes team-mode kernels use: conversations, knowledge, queries.

Inputs forbid unknown fields and bound every size (:class:`~dataask_jupyter.dashboards.models.Input`);
outputs are built from the store's plain records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from ..dashboards.models import SQL, ConnectionName, Input, Output
from ..store.ask_store import MAX_INSTRUCTION, MAX_QUESTION

#: above the guard's own cap (``safety.MAX_SQL_CHARS``), so a long statement gets the guard's message
MAX_QUERY_SQL = 1_000_000

Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION)]
WorkspaceName = Annotated[str, Field(min_length=1, max_length=200)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# -- conversations ---------------------------------------------------------------------------
class ConversationIn(Input):
    title: Annotated[str, Field(max_length=400), AfterValidator(_no_nul)] = ""


class ConversationPage(Input):
    limit: int = Field(20, ge=1, le=200)


class ConversationOut(Output):
    id: int
    workspace_id: int
    username: str
    title: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TurnIn(Input):
    """One answered question: what re-asks or pins it, never rows."""

    question: Question
    sql: SQL
    engine: Annotated[str, Field(max_length=200)] = ""
    federated: bool = False
    connections: list[ConnectionName] = Field(default_factory=list, max_length=50)
    intent: Annotated[str, Field(max_length=20)] = "data"
    row_count: int | None = Field(None, ge=0)
    timings: dict[Annotated[str, Field(max_length=80)], float] = Field(default_factory=dict, max_length=50)
    chart: dict[str, Any] | None = None


class TurnPage(Input):
    limit: int = Field(50, ge=1, le=500)


class HistoryFilter(Input):
    limit: int = Field(20, ge=1, le=500)
    everyone: bool = False


class TurnOut(Output):
    id: int
    conversation_id: int
    workspace_id: int
    username: str
    question: str
    sql: str
    engine: str
    federated: bool
    connections: list[str]
    intent: str
    row_count: int | None = None
    timings: dict[str, float]
    chart: dict[str, Any] | None = None
    created_at: datetime | None = None


# -- knowledge ------------------------------------------------------------------------------
class InstructionIn(Input):
    text: Annotated[str, Field(min_length=1, max_length=MAX_INSTRUCTION), AfterValidator(_no_nul)]


class InstructionOut(Output):
    id: int
    workspace_id: int
    text: str
    created_by: str = ""
    created_at: datetime | None = None


class SqlPairIn(Input):
    question: Question
    sql: SQL
    connection: ConnectionName | None = None


class SqlPairOut(Output):
    id: int
    workspace_id: int
    question: str
    sql: str
    connection: str | None = None
    created_by: str = ""
    created_at: datetime | None = None


class KnowledgeOut(Output):
    instructions: list[InstructionOut]
    sql_pairs: list[SqlPairOut]


# -- queries ------------------------------------------------------------------------------------
class QueryIn(Input):
    """One read-only statement on a connection.

    ``fetch``: a ``%%federate`` intermediate, capped by the service's ``DATAASK_MAX_FETCH_ROWS``
    instead of ``DATAASK_MAX_ROWS``. ``max_rows`` and ``timeout`` only lower the service's limits.
    """

    sql: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_SQL), AfterValidator(_no_nul)]
    max_rows: int | None = Field(None, ge=0, le=10**12)
    timeout: float | None = Field(None, gt=0, le=86_400)
    fetch: bool = False


class WorkspaceQuery(Input):
    """``?workspace=<name>`` of the connection routes."""

    workspace: WorkspaceName = "default"


class ColumnsArg(WorkspaceQuery):
    estimate: bool = False


class TablesOut(Output):
    connection: str
    dialect: str
    tables: list[str]


class ColumnsOut(Output):
    connection: str
    table: str
    columns: dict[str, str]
    estimated_rows: float | None = None
