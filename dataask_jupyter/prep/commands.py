"""The prep canvas's request/response protocol: one pydantic model per command.

The front end sends ``{"type": "request", "id": 7, "command": "update_step", ...}``; Python
validates it against the model of that command, runs it on a
:class:`~dataask_jupyter.prep.session.FlowEditor` and answers
``{"type": "response", "id": 7, "ok": true, "result": ...}`` or ``{"type": "response",
"id": 7, "ok": false, "error": {"code", "message", ...}}``. :func:`dispatch` never raises:
bad input and failing queries become an error for that request only.

Commands that edit the flow (``edits = True``) change what the canvas shows, so the widget
refreshes its state and the live preview after them.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..errors import DataAskError
from .session import FlowEditor

StepId = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edits: ClassVar[bool] = False  # changes the flow or the selection: refresh state + preview
    refresh_relationships: ClassVar[bool] = False

    def run(self, editor: FlowEditor) -> Any:  # pragma: no cover - every command overrides it
        raise NotImplementedError


class AddStep(Command):
    """Insert a step (a step object) at ``index`` (default: the end)."""

    command: Literal["add_step"]
    step: dict[str, Any]
    index: int | None = None
    edits: ClassVar[bool] = True
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        return {"step_id": editor.add_step(self.step, self.index)}


class NewStep(Command):
    """Insert a step of a type, pre-filled from the columns of its input."""

    command: Literal["new_step"]
    step_type: Name
    index: int | None = None
    edits: ClassVar[bool] = True

    def run(self, editor):
        return {"step_id": editor.new_step(self.step_type, self.index)}


class UpdateStep(Command):
    """Change options of a step (``null`` removes one); ``replace`` swaps them all."""

    command: Literal["update_step"]
    step_id: StepId
    changes: dict[str, Any]
    replace: bool = False
    edits: ClassVar[bool] = True
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        editor.update_step(self.step_id, self.changes, replace=self.replace)
        return {"step_id": self.step_id}


class RemoveStep(Command):
    command: Literal["remove_step"]
    step_id: StepId
    edits: ClassVar[bool] = True
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        editor.remove_step(self.step_id)
        return {"step_id": self.step_id}


class MoveStep(Command):
    """Move a step to 0-based position ``index`` (the source stays first)."""

    command: Literal["move_step"]
    step_id: StepId
    index: int = Field(ge=0)
    edits: ClassVar[bool] = True

    def run(self, editor):
        editor.move_step(self.step_id, self.index)
        return {"step_id": self.step_id}


class Select(Command):
    command: Literal["select"]
    step_id: StepId | None = None
    edits: ClassVar[bool] = True

    def run(self, editor):
        editor.select(self.step_id)
        return {"step_id": self.step_id}


class Undo(Command):
    command: Literal["undo"]
    edits: ClassVar[bool] = True
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        return {"changed": editor.undo()}


class Redo(Command):
    command: Literal["redo"]
    edits: ClassVar[bool] = True
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        return {"changed": editor.redo()}


class AddTable(Command):
    """A table dropped on the canvas: the source of an empty flow, else a join."""

    command: Literal["add_table"]
    connection: Name
    table: Name
    edits: ClassVar[bool] = True
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        return {"step_id": editor.add_table(self.connection, self.table)}


class Preview(Command):
    """First rows after a step (default: the selected one); failures come back in the result."""

    command: Literal["preview"]
    step_id: StepId | None = None

    def run(self, editor):
        return editor.preview(self.step_id)


class Profile(Command):
    command: Literal["profile"]
    step_id: StepId | None = None
    top: int = Field(10, ge=1, le=50)
    bins: int = Field(10, ge=2, le=50)

    def run(self, editor):
        return editor.profile(self.step_id, top=self.top, bins=self.bins)


class SuggestJoins(Command):
    """Join keys from a step's output to one table or every table of the workspace."""

    command: Literal["suggest_joins"]
    step_id: StepId | None = None
    connection: Name | None = None
    table: Name | None = None
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        return editor.suggest_joins(self.step_id, self.connection, self.table)


class AcceptJoin(Command):
    """Turn suggested join number ``index`` (dashed in the diagram) into a join step."""

    command: Literal["accept_join"]
    index: int = Field(ge=0)
    edits: ClassVar[bool] = True
    refresh_relationships: ClassVar[bool] = True

    def run(self, editor):
        return {"step_id": editor.accept_join(self.index)}


class SuggestCleaning(Command):
    command: Literal["suggest_cleaning"]
    step_id: StepId | None = None
    columns: list[Name] | None = None

    def run(self, editor):
        return editor.suggest_cleaning(self.step_id, self.columns)


class Complete(Command):
    """Autocomplete for a calculated field: replacements for the word ending ``prefix``."""

    command: Literal["complete"]
    step_id: StepId
    prefix: Annotated[str, Field(max_length=5000)]

    def run(self, editor):
        return editor.complete(self.step_id, self.prefix)


class Schema(Command):
    """Connections and their tables, for the schema browser."""

    command: Literal["schema"]

    def run(self, editor):
        return editor.schema()


class Columns(Command):
    command: Literal["columns"]
    connection: Name
    table: Name

    def run(self, editor):
        return editor.columns(self.connection, self.table)


class Relationships(Command):
    command: Literal["relationships"]

    def run(self, editor):
        return editor.relationships()


class Save(Command):
    """Save the flow as a dataset of the workspace."""

    command: Literal["save"]
    name: Name | None = None
    description: Annotated[str, Field(max_length=10_000)] = ""
    overwrite: bool = False

    def run(self, editor):
        return editor.save(self.name, description=self.description, overwrite=self.overwrite)


class Export(Command):
    """The flow as SQL, ibis Python code, or a CREATE VIEW statement."""

    command: Literal["export"]
    kind: Literal["sql", "code", "view"] = "sql"
    dialect: Name | None = None
    view_name: Name | None = None

    def run(self, editor):
        return {"kind": self.kind, "text": editor.export(self.kind, dialect=self.dialect, view_name=self.view_name)}


class SaveView(Command):
    """Create the flow's output as a view in its database (connections saved with --allow-views)."""

    command: Literal["save_view"]
    view_name: Name | None = None
    connection: Name | None = None
    replace: bool = False

    def run(self, editor):
        return editor.save_view(self.view_name, connection=self.connection, replace=self.replace)


COMMANDS: tuple[type[Command], ...] = (
    AddStep, NewStep, UpdateStep, RemoveStep, MoveStep, Select, Undo, Redo, AddTable, Preview, Profile,
    SuggestJoins, AcceptJoin, SuggestCleaning, Complete, Schema, Columns, Relationships, Save, Export, SaveView,
)
AnyCommand = Annotated[
    AddStep | NewStep | UpdateStep | RemoveStep | MoveStep | Select | Undo | Redo | AddTable | Preview | Profile
    | SuggestJoins | AcceptJoin | SuggestCleaning | Complete | Schema | Columns | Relationships | Save | Export
    | SaveView,
    Field(discriminator="command"),
]
_ADAPTER: TypeAdapter = TypeAdapter(AnyCommand)
COMMAND_NAMES = tuple(c.model_fields["command"].annotation.__args__[0] for c in COMMANDS)


def parse_command(message: dict) -> Command:
    """Validate a request (without its ``type``/``id`` envelope) into its command model."""
    body = {k: v for k, v in message.items() if k not in ("type", "id")}
    return _ADAPTER.validate_python(body)


def _validation_error(exc: ValidationError) -> dict:
    err = exc.errors(include_url=False, include_input=False)
    first = err[0] if err else {"loc": (), "msg": "invalid"}
    if first.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        message = f"Unknown command; use one of: {', '.join(COMMAND_NAMES)}."
    else:
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in COMMAND_NAMES) or "request"
        message = f"Invalid request: {loc}: {first.get('msg', 'invalid')}."
    return {"code": "bad_request", "message": message}


def dispatch(editor: FlowEditor, message: Any) -> tuple[dict, Command | None]:
    """Run one request; return ``(response, command)`` (``command`` is ``None`` if invalid).

    Never raises: validation errors, :class:`~dataask_jupyter.errors.DataAskError`, a kernel
    interrupt (``cancelled``) and any other failure become ``{"ok": false, "error": {...}}``
    for this request.
    """
    request_id = message.get("id") if isinstance(message, dict) else None
    response: dict[str, Any] = {"type": "response", "id": request_id}
    if not isinstance(message, dict):
        return {**response, "ok": False, "error": {"code": "bad_request", "message": "A request is an object."}}, None
    try:
        command = parse_command(message)
    except ValidationError as exc:
        return {**response, "ok": False, "error": _validation_error(exc)}, None
    response["command"] = command.command
    try:
        result = command.run(editor)
    except DataAskError as exc:
        return {**response, "ok": False, "error": exc.to_dict()}, command
    except KeyboardInterrupt:  # the user interrupted the kernel during a long preview or profile
        return {**response, "ok": False, "error": {"code": "cancelled", "message": "Interrupted."}}, command
    except Exception as exc:  # noqa: BLE001 - never raise into the kernel from a UI message
        return {**response, "ok": False,
                "error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"[:500]}}, command
    return {**response, "ok": True, "result": result}, command
