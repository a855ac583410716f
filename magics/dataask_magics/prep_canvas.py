"""The prep canvas: an anywidget over :class:`dataask_jupyter.prep.session.FlowEditor`.

Thin on purpose. The flow, step statuses, selection, undo/redo availability, the live
preview, the profile, the schema browser and the relationship diagram are ``sync=True``
traitlets mirrored from the editor; the front end (``static/prep_canvas.js``, one ESM file,
no build step) sends typed requests (:mod:`dataask_jupyter.prep.commands`) and gets one
response per request. Errors go back to that request; nothing is raised into the kernel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from dataask_jupyter.prep.commands import (
    COMMAND_NAMES,
    AddTable,
    Preview,
    Profile,
    Save,
    SuggestCleaning,
    SuggestJoins,
    dispatch,
)
from dataask_jupyter.prep.session import FlowEditor
from dataask_jupyter.prep.steps import AGG_FUNCTIONS, FILTER_OPS, STEP_TYPES, TYPE_NAMES
from dataask_jupyter.store import DEFAULT_WORKSPACE

STATIC = Path(__file__).parent / "static"


class PrepCanvas(anywidget.AnyWidget):
    """Visual data preparation in a notebook: ``PrepCanvas(flow=None, workspace="default")``.

    Parameters
    ----------
    flow
        A flow (dict, JSON text, path or :class:`~dataask_jupyter.prep.flow.Flow`); ``None``
        starts empty (drag a table from the schema browser onto the canvas).
    workspace
        Workspace of the connections and of saved flows.
    name
        Open the saved flow ``name`` of the workspace instead of ``flow``.
    dataask
        The :class:`~dataask_jupyter.core.DataAsk` to use (default: a new one from the environment).
    editor
        An existing :class:`FlowEditor` (tests, or to share one between views).
    """

    _esm = STATIC / "prep_canvas.js"
    _css = STATIC / "prep_canvas.css"

    workspace = traitlets.Unicode(DEFAULT_WORKSPACE).tag(sync=True)
    flow = traitlets.Dict().tag(sync=True)
    statuses = traitlets.List().tag(sync=True)
    selected = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    can_undo = traitlets.Bool(False).tag(sync=True)
    can_redo = traitlets.Bool(False).tag(sync=True)
    dataset = traitlets.Dict(None, allow_none=True).tag(sync=True)
    preview = traitlets.Dict().tag(sync=True)
    profile = traitlets.Dict().tag(sync=True)
    schema = traitlets.List().tag(sync=True)
    relationships = traitlets.Dict().tag(sync=True)
    cleaning = traitlets.List().tag(sync=True)
    step_types = traitlets.List(list(STEP_TYPES)).tag(sync=True)
    commands = traitlets.List(list(COMMAND_NAMES)).tag(sync=True)
    vocabulary = traitlets.Dict({"filter_ops": list(FILTER_OPS), "agg_functions": list(AGG_FUNCTIONS),
                                 "types": sorted(TYPE_NAMES)}).tag(sync=True)

    def __init__(self, flow: Any = None, workspace: str = DEFAULT_WORKSPACE, *, name: str | None = None,
                 dataask=None, editor: FlowEditor | None = None, **kwargs) -> None:
        if editor is None:
            if dataask is None:
                from dataask_jupyter.core import DataAsk

                dataask = DataAsk()
            editor = FlowEditor.open(dataask, name, workspace) if name else FlowEditor(dataask, workspace, flow)
        super().__init__(workspace=editor.workspace, **kwargs)
        self.editor = editor
        self.on_msg(self._on_msg)
        with self.hold_sync():
            self.schema = editor.schema()
            self._refresh(relationships=True, preview=True)

    # -- messages --------------------------------------------------------------------------
    def _on_msg(self, _widget, content: Any, _buffers=None) -> None:
        if isinstance(content, dict) and content.get("type") == "request":
            self.send(self.handle(content))

    def handle(self, request: dict) -> dict:
        """Run one request from the front end and update the traitlets; returns the response."""
        response, command = dispatch(self.editor, request)
        if command is None:
            return response
        with self.hold_sync():
            if command.edits:
                self._refresh(relationships=command.refresh_relationships, preview=True)
            elif command.refresh_relationships:
                self.relationships = self.editor.relationships()
            if response["ok"]:
                if isinstance(command, Preview):
                    self.preview = response["result"]
                elif isinstance(command, Profile):
                    self.profile = response["result"]
                elif isinstance(command, SuggestCleaning):
                    self.cleaning = response["result"]
                elif isinstance(command, SuggestJoins | AddTable):
                    self.relationships = self.editor.relationships()
                elif isinstance(command, Save):
                    self.dataset = response["result"]
        return response

    def _refresh(self, *, relationships: bool = False, preview: bool = False) -> None:
        state = self.editor.state()
        self.flow = state["flow"]
        self.statuses = state["statuses"]
        self.selected = state["selected"]
        self.can_undo = state["can_undo"]
        self.can_redo = state["can_redo"]
        self.dataset = state["dataset"]
        if relationships:
            self.relationships = self.editor.relationships()
        if preview:
            self.preview = self.editor.preview()
            if self.profile.get("step_id") != self.selected:
                self.profile = {}

    # -- notebook helpers ------------------------------------------------------------------
    def save(self, name: str | None = None, *, description: str = "", overwrite: bool = False) -> dict:
        """Save the flow as a dataset of the workspace."""
        out = self.editor.save(name, description=description, overwrite=overwrite)
        self.dataset = out
        return out

    def sql(self, dialect: str | None = None) -> str:
        """The flow as SQL for its source's dialect (or ``dialect``)."""
        return self.editor.export("sql", dialect=dialect)

    def code(self) -> str:
        """The flow as ibis Python code."""
        return self.editor.export("code")

    def run(self, **kwargs):
        """Run the whole flow where its data lives (a ``QueryResult``)."""
        return self.editor.engine.run(self.editor.flow(), **kwargs)
