"""Models of the API's other inputs and outputs: datasets, widget runs, recents, audit,
list filters and templates (dashboards themselves are in :mod:`.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from .models import FederatedQuery, FlowQuery, Id, Input, Member, Name, Output, SqlQuery, Tag, Text


class JSONText(bytes):
    """An answer already serialized as UTF-8 JSON (a cached listing or document): front
    doors send these bytes as they are instead of serializing again."""


# -- datasets, runs, recents, audit --------------------------------------------------------
DatasetQueryIn = Annotated[SqlQuery | FederatedQuery | FlowQuery, Field(discriminator="kind")]


class DatasetIn(Input):
    name: Name
    description: Text = ""
    query: DatasetQueryIn


class DatasetUpdate(DatasetIn):
    version: Id


class DatasetOut(Output):
    id: int
    workspace_id: int
    name: str
    description: str
    query: Annotated[SqlQuery | FederatedQuery | FlowQuery, Field(discriminator="kind")]
    version: int
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class RunIn(Input):
    max_rows: int = Field(1000, ge=1, le=10_000)
    use_cache: bool = True


class RunOut(Output):
    dashboard_id: int
    widget_id: str
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    seconds: float
    cache: str = "off"


class RecentOut(Output):
    dashboard_id: int
    workspace_id: int
    name: str
    viewed_at: datetime


class AuditOut(Output):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target: str
    outcome: str
    detail: dict[str, Any]


class DashboardFilter(Input):
    """Search and filter by name, tag, folder, owner."""

    q: Annotated[str, Field(max_length=200)] | None = None
    tag: Tag | None = None
    folder_id: Id | None = None
    owner: Member | None = None
    limit: int = Field(500, ge=1, le=5000)
    offset: int = Field(0, ge=0, le=1_000_000)


class SearchFilter(DashboardFilter):
    workspace_id: Id | None = None
    limit: int = Field(100, ge=1, le=1000)


class AuditFilter(Input):
    limit: int = Field(100, ge=1, le=1000)
    action: Annotated[str, Field(max_length=80)] | None = None
    actor: Member | None = None


class RecentFilter(Input):
    workspace_id: Id | None = None
    limit: int = Field(20, ge=1, le=200)


class DiffQuery(Input):
    from_version: Id = Field(alias="from")
    to_version: Id = Field(alias="to")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class VersionPage(Input):
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10_000_000)


class TemplateOut(Output):
    name: str
    title: str
    description: str
    widget_count: int
    connections: dict[str, str]


class Empty(Input):
    """An empty body (or none)."""
