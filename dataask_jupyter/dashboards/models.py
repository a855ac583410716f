"""The dashboard domain as pydantic models: what the API accepts and returns.

Inputs forbid unknown fields and bound every size; outputs are what callers see. A
dashboard is one document (name, description, tags, folder, layout, widgets) saved as a
whole: every save is a version, so widgets live inside the document rather than in rows
of their own.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import UsageError
from .roles import Level, PrincipalKind, Role

MAX_WIDGETS = 500
MAX_SQL = 100_000
MAX_FLOW_CHARS = 1_000_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _name(value: str) -> str:
    value = _no_control(value.strip())
    if not value:
        raise ValueError("must not be blank")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _connection_name(value: str) -> str:
    if not _CONN.match(value):
        raise ValueError("must be a connection name (letters, digits, underscores)")
    return value


def _colour(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError("must be a colour like #1f77b4")
    return value.lower()


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name)]
Text = Annotated[str, Field(max_length=10_000), AfterValidator(_no_nul)]
Tag = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_name)]
Member = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name)]
SQL = Annotated[str, Field(min_length=1, max_length=MAX_SQL), AfterValidator(_no_nul)]
ConnectionName = Annotated[str, AfterValidator(_connection_name)]
Colour = Annotated[str, AfterValidator(_colour)]
Id = Annotated[int, Field(ge=1, le=2**53)]
WidgetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


def validated(model: type[BaseModel], data):
    """``model.model_validate(data)`` raising :class:`UsageError` (a 400) with a short message
    that names the fields but never echoes the input."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(validation_message(exc)) from None


def validation_message(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    return "Invalid request: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def new_widget_id() -> str:
    """A short random widget id, unique within a dashboard."""
    return "w" + secrets.token_hex(5)


class Input(BaseModel):
    """Base of request bodies: unknown fields are a 400, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- workspaces --------------------------------------------------------------------------
class Theme(Input):
    """Colour palette shared by every dashboard of a workspace."""

    palette: list[Colour] = Field(
        default_factory=lambda: ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b"],
        max_length=24,
    )
    background: Colour = "#ffffff"
    text: Colour = "#222222"
    mode: Literal["light", "dark"] = "light"


class WorkspaceCreate(Input):
    name: Name
    theme: Theme = Field(default_factory=Theme)


class WorkspaceUpdate(Input):
    name: Name | None = None
    theme: Theme | None = None


class WorkspaceOut(Output):
    id: int
    name: str
    theme: dict[str, Any]
    role: Role
    created_at: datetime | None = None
    created_by: str = ""


class MemberIn(Input):
    kind: PrincipalKind = PrincipalKind.user
    name: Member
    role: Role


class MemberUpdate(Input):
    role: Role


class MemberOut(Output):
    kind: PrincipalKind
    name: str
    role: Role
    added_by: str = ""
    added_at: datetime | None = None


# -- folders -----------------------------------------------------------------------------
class FolderIn(Input):
    name: Name
    parent_id: Id | None = None


class FolderUpdate(Input):
    name: Name | None = None
    parent_id: Id | None = None
    move_to_root: bool = False


class FolderOut(Output):
    id: int
    workspace_id: int
    name: str
    parent_id: int | None
    created_by: str = ""
    created_at: datetime | None = None


# -- widgets -----------------------------------------------------------------------------
class SqlQuery(Input):
    """SQL on one connection of the dashboard's workspace."""

    kind: Literal["sql"] = "sql"
    connection: ConnectionName
    sql: SQL


class FederatedQuery(Input):
    """One statement across several connections (``connection.table`` names)."""

    kind: Literal["federated"] = "federated"
    sql: SQL


class FlowQuery(Input):
    """A prep flow (:mod:`dataask_jupyter.prep`); it compiles to SQL where its data lives when it runs."""

    kind: Literal["flow"] = "flow"
    flow: dict[str, Any]

    @field_validator("flow")
    @classmethod
    def _valid_flow(cls, value: dict[str, Any]) -> dict[str, Any]:
        from ..prep.flow import Flow

        if len(json.dumps(value, default=str)) > MAX_FLOW_CHARS:
            raise ValueError(f"a flow is at most {MAX_FLOW_CHARS:,} characters of JSON")
        return Flow.parse(value).to_dict()  # FlowError is a ValueError: a 400 naming the step


class DatasetQuery(Input):
    """A saved dataset of the same workspace."""

    kind: Literal["dataset"] = "dataset"
    dataset_id: Id


Query = Annotated[SqlQuery | FederatedQuery | DatasetQuery, Field(discriminator="kind")]
WidgetKind = Literal["metric", "line", "bar", "area", "scatter", "pie", "table", "text"]


class GridPos(Input):
    """Grid position in layout cells."""

    x: int = Field(0, ge=0, le=1000)
    y: int = Field(0, ge=0, le=100_000)
    w: int = Field(4, ge=1, le=48)
    h: int = Field(3, ge=1, le=100)


class WidgetIn(Input):
    """A widget as sent by clients (``id`` optional: new widgets get one)."""

    id: WidgetId | None = None
    kind: WidgetKind
    title: Annotated[str, Field(max_length=200), AfterValidator(_no_control)] = ""
    query: Query | None = None
    spec: dict[str, Any] | None = Field(None, description="Vega-Lite specification (charts).")
    options: dict[str, Any] = Field(default_factory=dict, description="Display options (format, text, colours).")
    position: GridPos = Field(default_factory=GridPos)

    @model_validator(mode="after")
    def _query_matches_kind(self) -> WidgetIn:
        if self.kind == "text" and self.query is not None:
            raise ValueError("text widgets have no query")
        if self.kind != "text" and self.query is None:
            raise ValueError(f"a {self.kind} widget needs a query")
        return self


class Widget(WidgetIn):
    id: WidgetId


class Layout(Input):
    columns: int = Field(12, ge=1, le=48)
    row_height: int = Field(80, ge=10, le=1000)


class DashboardFields(Input):
    """The editable document of a dashboard."""

    name: Name
    description: Text = ""
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    folder_id: Id | None = None
    private: bool = False
    layout: Layout = Field(default_factory=Layout)
    widgets: list[WidgetIn] = Field(default_factory=list, max_length=MAX_WIDGETS)

    @model_validator(mode="after")
    def _fits_grid(self) -> DashboardFields:
        seen: set[str] = set()
        for i, widget in enumerate(self.widgets):
            if widget.position.x + widget.position.w > self.layout.columns:
                raise ValueError(f"widget {i} does not fit the {self.layout.columns}-column grid")
            if widget.id is not None:
                if widget.id in seen:
                    raise ValueError(f"widget id {widget.id!r} is used twice")
                seen.add(widget.id)
        self.tags = list(dict.fromkeys(self.tags))
        return self


class DashboardDoc(DashboardFields):
    """A stored dashboard document: every widget has its id."""

    widgets: list[Widget] = Field(default_factory=list, max_length=MAX_WIDGETS)


class DashboardCreate(DashboardFields):
    template: str = Field("blank", pattern=r"^[a-z][a-z0-9_-]{0,39}$")  # fits dashboards.template
    template_connections: dict[str, ConnectionName] = Field(default_factory=dict, max_length=20)
    message: Annotated[str, Field(max_length=500), AfterValidator(_no_nul)] = ""


class DashboardUpdate(DashboardFields):
    """Full replacement; ``version`` is the version being edited (stale: 409)."""

    version: Id
    message: Annotated[str, Field(max_length=500), AfterValidator(_no_nul)] = ""


class DashboardPatch(Input):
    version: Id
    message: Annotated[str, Field(max_length=500), AfterValidator(_no_nul)] = ""
    name: Name | None = None
    description: Text | None = None
    tags: list[Tag] | None = Field(None, max_length=50)
    folder_id: Id | None = None
    move_to_root: bool = False
    private: bool | None = None
    layout: Layout | None = None


class DashboardSummary(Output):
    id: int
    workspace_id: int
    name: str
    description: str
    tags: list[str]
    folder_id: int | None
    owner: str
    private: bool
    template: str
    version: int
    widget_count: int
    updated_at: datetime | None = None
    updated_by: str = ""


class DashboardOut(DashboardSummary):
    layout: Layout
    widgets: list[Widget]
    access: Level
    created_at: datetime | None = None


class CloneIn(Input):
    name: Name | None = None
    workspace_id: Id | None = None
    folder_id: Id | None = None


class WidgetCreate(WidgetIn):
    version: Id | None = None
    message: Annotated[str, Field(max_length=500), AfterValidator(_no_nul)] = ""


class WidgetUpdate(WidgetIn):
    version: Id
    message: Annotated[str, Field(max_length=500), AfterValidator(_no_nul)] = ""


class VersionRef(Input):
    """A write that carries the dashboard version it edits (deletes, restores)."""

    version: Id
    message: Annotated[str, Field(max_length=500), AfterValidator(_no_nul)] = ""


class WidgetOut(Widget):
    dashboard_id: int
    dashboard_version: int


class VersionOut(Output):
    version: int
    author: str
    created_at: datetime | None
    message: str
    restored_from: int | None = None


class VersionDetail(VersionOut):
    document: DashboardDoc


class Change(Output):
    path: str
    op: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class DiffOut(Output):
    dashboard_id: int
    from_version: int
    to_version: int
    changes: list[Change]


class PermissionIn(Input):
    kind: PrincipalKind = PrincipalKind.user
    name: Member
    level: Level


class PermissionOut(Output):
    kind: PrincipalKind
    name: str
    level: Level
    granted_by: str = ""
