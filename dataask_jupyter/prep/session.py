"""The prep canvas's controller: one flow being edited, with undo/redo and a selected step.

:class:`FlowEditor` holds the flow as plain step dicts (a step may be half filled in while
the user edits it), an undo and a redo stack of snapshots, and the selected step. Every
edit is one undoable change; previews, profiles and suggestions go through the engine's
:class:`~dataask_jupyter.prep.api.PrepSession` (pushdown preview, row cap, timeouts), so
this module has no widget code and is tested without a browser. The canvas widget
(``dataask_magics.PrepCanvas``) only forwards typed commands (:mod:`.commands`) here and
mirrors :meth:`FlowEditor.state` into its traitlets.

A bad step never hides the good ones: :meth:`statuses` reports the error on the step at
fault (the steps after it are ``blocked``) and :meth:`preview` of any earlier step still
runs, because only the steps up to the previewed one are compiled.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from ..errors import DataAskError, FlowError, UsageError
from ..store import DEFAULT_WORKSPACE
from . import datasets
from .api import PrepSession
from .expressions import complete as complete_expression
from .flow import Flow, _normalize_type
from .steps import STEP_ID_RE, STEP_TYPES

MAX_HISTORY = 200
PREVIEW_ROWS = 100
_SKIP = ("id", "type")


def _error(exc: Exception) -> dict:
    if isinstance(exc, DataAskError):
        return exc.to_dict()
    return {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"[:500]}


class FlowEditor:
    """A flow under edit: steps, selection, undo/redo, and the engine calls the canvas makes.

    Parameters
    ----------
    da
        The :class:`~dataask_jupyter.core.DataAsk` whose connections and store are used.
    workspace
        Workspace of the connections and of saved flows.
    flow
        A flow (model, dict, JSON text or path), or ``None`` for an empty canvas.
    dataset
        The saved dataset the flow came from (``DatasetOut``), so saving updates it.
    preview_rows, preview_timeout
        Rows a preview shows (LIMIT at the source) and its statement timeout in seconds
        (default: the settings' query timeout).
    """

    def __init__(self, da, workspace: str = DEFAULT_WORKSPACE, flow: Any = None, *, dataset=None,
                 preview_rows: int = PREVIEW_ROWS, preview_timeout: float | None = None,
                 federate=None) -> None:
        self.da = da
        self.workspace = workspace
        self.engine = PrepSession(da, workspace, federate)
        self.preview_rows = preview_rows
        self.preview_timeout = preview_timeout if preview_timeout is not None else da.settings.query_timeout
        self.steps: list[dict] = []
        self.meta: dict[str, Any] = {}  # output_name, save_as, ui
        self.selected: str | None = None
        self.dataset: dict | None = None
        self.suggested_joins: list[dict] = []
        self._undo: list[dict] = []
        self._redo: list[dict] = []
        if flow is not None:
            self._load(flow)
        if dataset is not None:
            self.dataset = {"id": dataset.id, "name": dataset.name, "version": dataset.version,
                            "description": dataset.description}

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def open(cls, da, name: str | None = None, workspace: str = DEFAULT_WORKSPACE, **kwargs) -> FlowEditor:
        """A new flow, or the saved flow ``name`` of ``workspace`` (``NotFound`` if none)."""
        if name is None:
            return cls(da, workspace, **kwargs)
        flow, ds = datasets.load_flow(da, name, workspace)
        return cls(da, workspace, flow, dataset=ds, **kwargs)

    def _load(self, flow: Any) -> None:
        if isinstance(flow, Flow):
            data = flow.to_dict()
        elif isinstance(flow, dict):
            data = copy.deepcopy(flow)
        elif isinstance(flow, str | bytes | Path):
            data = _json_flow(flow)  # a bad step is kept, to be fixed on the canvas
        else:
            raise UsageError("A flow is a dict, JSON text, a path to a JSON file or a Flow.")
        steps = data.get("steps") or []
        if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
            raise FlowError('A flow is a JSON object: {"steps": [{...}, ...]}.')
        self.meta = {k: v for k, v in data.items() if k in ("output_name", "save_as", "ui")}
        self.steps = []
        for raw in steps:
            step = {**raw, "type": _normalize_type(raw.get("type"))}
            step["id"] = raw.get("id") if raw.get("id") and raw.get("id") not in self.ids else self._new_id()
            self.steps.append(step)
        self.selected = self.steps[-1]["id"] if self.steps else None

    # -- the flow --------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        return [s["id"] for s in self.steps]

    def flow_dict(self) -> dict:
        """The flow as JSON-ready data (steps as edited; may contain a bad step)."""
        return {"steps": copy.deepcopy(self.steps), **copy.deepcopy(self.meta)}

    def flow(self) -> Flow:
        """The whole flow, validated (raises :class:`FlowError` naming the bad step)."""
        if not self.steps:
            raise FlowError("The flow is empty: drag a table onto the canvas to start it.")
        return Flow.parse(self.flow_dict())

    def _new_id(self) -> str:
        n = len(self.steps) + 1
        while f"s{n}" in self.ids:
            n += 1
        return f"s{n}"

    def _index(self, step_id: str | None) -> int:
        if step_id is None:
            if not self.steps:
                raise FlowError("The flow is empty: drag a table onto the canvas to start it.")
            return len(self.steps) - 1
        if step_id not in self.ids:
            from ..errors import did_you_mean

            raise FlowError(f"No step with id '{step_id}'.{did_you_mean(str(step_id), self.ids)}",
                            hint=f"Steps: {', '.join(self.ids) or 'none yet'}.")
        return self.ids.index(step_id)

    def _prefix(self, step_id: str | None) -> dict:
        """The flow cut after ``step_id`` (only these steps are compiled)."""
        return {"steps": copy.deepcopy(self.steps[: self._index(step_id) + 1])}

    # -- history ---------------------------------------------------------------------------
    def _snapshot(self) -> dict:
        return {"steps": copy.deepcopy(self.steps), "meta": copy.deepcopy(self.meta), "selected": self.selected}

    def _restore(self, snap: dict) -> None:
        self.steps, self.meta, self.selected = snap["steps"], snap["meta"], snap["selected"]

    def _change(self) -> None:
        """Call before an edit: remember the state for undo, forget the redo stack."""
        self._undo.append(self._snapshot())
        del self._undo[:-MAX_HISTORY]
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        """Go back one edit; ``False`` when there is nothing to undo."""
        if not self._undo:
            return False
        self._redo.append(self._snapshot())
        self._restore(self._undo.pop())
        return True

    def redo(self) -> bool:
        """Re-apply the last undone edit; ``False`` when there is nothing to redo."""
        if not self._redo:
            return False
        self._undo.append(self._snapshot())
        self._restore(self._redo.pop())
        return True

    # -- edits -----------------------------------------------------------------------------
    def add_step(self, step: dict, index: int | None = None, *, select: bool = True) -> str:
        """Insert ``step`` (a step dict) at ``index`` (default: the end); returns its id.

        The step may be incomplete: problems are reported on it by :meth:`statuses`.
        """
        if not isinstance(step, dict):
            raise UsageError("A step is an object with a 'type'.")
        step = copy.deepcopy(step)
        kind = _normalize_type(step.get("type"))
        if kind not in STEP_TYPES:
            raise FlowError(f"Unknown step type {step.get('type')!r}; use one of: {', '.join(STEP_TYPES)}.")
        step["type"] = kind
        if kind == "source" and self.steps:
            raise FlowError("The flow already has a source; add other tables with a join step.",
                            hint="Drop the table onto the canvas to join it.")
        if kind != "source" and not self.steps:
            raise FlowError("Start the flow with a source: drag a table onto the canvas.")
        sid = step.get("id")
        if not sid or sid in self.ids or not STEP_ID_RE.match(str(sid)):
            step["id"] = self._new_id()
        position = len(self.steps) if index is None else max(1, min(int(index), len(self.steps)))
        if not self.steps:
            position = 0
        self._change()
        self.steps.insert(position, step)
        if kind == "join":
            self._drop_suggestions_for(step)
        if select:
            self.selected = step["id"]
        return step["id"]

    def new_step(self, kind: str, index: int | None = None) -> str:
        """Add a step of type ``kind`` pre-filled from the columns of its input."""
        kind = _normalize_type(kind)
        at = len(self.steps) if index is None else max(1, min(int(index), len(self.steps)))
        before = self.steps[at - 1]["id"] if at >= 1 and self.steps else None
        columns = self._columns_after(before) if before else {}
        return self.add_step(step_template(kind, columns), index)

    def update_step(self, step_id: str, changes: dict, *, replace: bool = False) -> None:
        """Change options of a step (``None`` removes an option); ``replace`` swaps them all."""
        if not isinstance(changes, dict):
            raise UsageError("Step changes are an object of option: value.")
        i = self._index(step_id)
        old = self.steps[i]
        if "type" in changes and _normalize_type(changes["type"]) != old["type"]:
            raise FlowError("A step's type cannot change; add a new step instead.", step_id=step_id)
        new = {"id": old["id"], "type": old["type"]} if replace else copy.deepcopy(old)
        for key, value in changes.items():
            if key in _SKIP:
                continue
            if value is None:
                new.pop(key, None)
            else:
                new[key] = copy.deepcopy(value)
        if new == old:
            return
        self._change()
        self.steps[i] = new

    def remove_step(self, step_id: str) -> None:
        """Remove a step (the source only when it is the last step left)."""
        i = self._index(step_id)
        if i == 0 and len(self.steps) > 1:
            raise FlowError("The source cannot be removed while other steps read from it.", step_id=step_id,
                            hint="Remove the later steps first, or change the source's table.")
        self._change()
        del self.steps[i]
        if self.selected == step_id:
            self.selected = self.steps[min(i, len(self.steps) - 1)]["id"] if self.steps else None

    def move_step(self, step_id: str, index: int) -> None:
        """Move a step to position ``index`` (0-based; position 0 belongs to the source)."""
        i = self._index(step_id)
        if i == 0:
            raise FlowError("The source stays first.", step_id=step_id)
        target = max(1, min(int(index), len(self.steps) - 1))
        if target == i:
            return
        self._change()
        step = self.steps.pop(i)
        self.steps.insert(target, step)

    def select(self, step_id: str | None) -> None:
        """Select a step (not an edit: no undo entry)."""
        if step_id is not None:
            self._index(step_id)
        self.selected = step_id

    def set_output_name(self, name: str | None) -> None:
        self._change()
        if name:
            self.meta["output_name"] = name
        else:
            self.meta.pop("output_name", None)

    def add_table(self, connection: str, table: str) -> str:
        """What dropping a table on the canvas does: the source of an empty flow, else a join
        on the best suggested key pair (an empty key list, reported on the step, if none)."""
        ref = {"connection": connection, "table": table}
        self.engine.catalog.schema(connection, table)  # unknown table: a clear error, no step
        if not self.steps:
            return self.add_step({"type": "source", **ref})
        step = {"type": "join", "right": ref, "on": [], "how": "left"}
        try:
            found = self.engine.suggest_joins(self._valid_prefix(), None, ref)
        except DataAskError:
            found = []
        if found:
            step = found[0].step("left")
        return self.add_step(step)

    # -- checks, previews, profiles, suggestions -----------------------------------------------
    def _valid_prefix(self) -> dict:
        """The longest prefix of steps that passes the format check (for suggestions)."""
        good = [s["step_id"] for s in self.statuses() if s["ok"]]
        if not good:
            raise FlowError("Fix the source step first.")
        return self._prefix(good[-1])

    def statuses(self) -> list[dict]:
        """Every step's ``{step_id, type, ok, error, columns}``: the first bad step carries the
        error (with ``step_id`` and ``field``), the ones after it are ``blocked``."""
        if not self.steps:
            return []
        try:
            flow = Flow.parse(self.flow_dict())
        except FlowError as exc:
            bad = exc.step_id if exc.step_id in self.ids else self.ids[0]
            cut = self.ids.index(bad)
            head = [] if cut == 0 else self._check({"steps": copy.deepcopy(self.steps[:cut])})
            if head and not head[-1]["ok"]:
                return head + self._blocked(cut, head)
            return head + [self._status(cut, False, exc.to_dict())] + self._blocked(cut + 1, [{"step_id": bad}])
        return self._check(flow)

    def _check(self, flow: Any) -> list[dict]:
        try:
            return [s.to_dict() for s in self.engine.check(flow)]
        except DataAskError as exc:  # e.g. the connection is unreachable: report on the source
            n = len(flow.steps) if isinstance(flow, Flow) else len(flow["steps"])
            err = {**exc.to_dict(), "step_id": self.ids[0]}
            return [self._status(0, False, err)] + self._blocked(1, [{"step_id": self.ids[0]}])[: n - 1]

    def _status(self, i: int, ok: bool, error: dict | None, columns=None) -> dict:
        s = self.steps[i]
        return {"step_id": s["id"], "type": s["type"], "ok": ok, "error": error, "columns": columns}

    def _blocked(self, start: int, before: list[dict]) -> list[dict]:
        bad = next((s["step_id"] for s in before if not s.get("ok", False)), before[-1]["step_id"])
        return [self._status(i, False, {"code": "blocked", "message": f"Fix step '{bad}' first.",
                                        "step_id": self.steps[i]["id"], "field": None})
                for i in range(start, len(self.steps))]

    def _columns_after(self, step_id: str) -> dict[str, str]:
        status = next((s for s in self.statuses() if s["step_id"] == step_id), None)
        return dict(status["columns"] or {}) if status and status["ok"] else {}

    def preview(self, step_id: str | None = None) -> dict:
        """The first rows after ``step_id`` (default: the selected step), LIMIT at the source.

        Returns ``{"ok": True, "step_id", "columns", "rows", "row_count", ...}`` or
        ``{"ok": False, "step_id", "error"}`` (the error names the step at fault); never raises
        for a bad flow.
        """
        step_id = step_id or self.selected or (self.ids[-1] if self.steps else None)
        if step_id is None:
            return {"ok": False, "step_id": None,
                    "error": {"code": "flow_error", "message": "Drag a table onto the canvas to start.",
                              "step_id": None, "field": None}}
        try:
            prefix = self._prefix(step_id)
            p = self.engine.preview(Flow.parse(prefix), limit=self.preview_rows, timeout=self.preview_timeout)
        except KeyboardInterrupt:  # the user interrupted a long preview
            return {"ok": False, "step_id": step_id, "error": {"code": "cancelled", "message": "Interrupted."}}
        except Exception as exc:  # noqa: BLE001 - a preview failure is shown, never raised into the kernel
            return {"ok": False, "step_id": step_id, "error": _error(exc)}
        return {"ok": True, **p.to_dict()}

    def profile(self, step_id: str | None = None, **options: Any) -> dict:
        """Profile of the output of ``step_id`` (default: the selected step)."""
        step_id = step_id or self.selected
        prefix = self._prefix(step_id)
        return self.engine.profile(Flow.parse(prefix), **options).to_dict()

    def suggest_joins(self, step_id: str | None = None, connection: str | None = None,
                      table: str | None = None, *, limit: int = 5, min_confidence: float = 0.5) -> list[dict]:
        """Join keys from ``step_id``'s output (default: the last good step) to
        ``connection.table`` (default: the tables of every connection of the workspace); kept
        for :meth:`relationships` until accepted."""
        prefix = Flow.parse(self._prefix(step_id) if step_id else self._valid_prefix())
        right = {"connection": connection, "table": table} if connection and table else None
        found = [s.to_dict() for s in self.engine.suggest_joins(prefix, None, right, max_tables=50)]
        joined = {(r["connection"], r["table"]) for r in self._tables()}
        self.suggested_joins = [s for s in found if s["confidence"] >= min_confidence
                                and (s["right"]["connection"], s["right"]["table"]) not in joined][:limit]
        return self.suggested_joins

    def _drop_suggestions_for(self, join: dict) -> None:
        right = join.get("right") or {}
        self.suggested_joins = [s for s in self.suggested_joins
                                if (s["right"]["connection"], s["right"]["table"])
                                != (right.get("connection"), right.get("table"))]

    def suggest_cleaning(self, step_id: str | None = None, columns: list[str] | None = None) -> list[dict]:
        """"Clean this column" proposals (each with the step to add)."""
        step_id = step_id or self.selected
        return [s.to_dict() for s in self.engine.suggest_cleaning(Flow.parse(self._prefix(step_id)), None, columns)]

    def complete(self, step_id: str, prefix: str, *, limit: int = 20) -> list[str]:
        """Autocomplete for an expression typed in ``step_id``: replacements for the word at the
        end of ``prefix`` (columns of the step's input first, then functions)."""
        i = self._index(step_id)
        columns = self._columns_after(self.steps[i - 1]["id"]) if i > 0 else {}
        return complete_expression(prefix, list(columns), limit=limit)

    # -- schema browser and relationship diagram -----------------------------------------------
    def schema(self) -> list[dict]:
        """Connections of the workspace with their tables (columns load on demand)."""
        out = []
        for name in self.da.connections.names(self.workspace):
            try:
                tables = [t for t in self.engine.catalog.tables(name) if not t.startswith("_")]
                out.append({"name": name, "dialect": self.engine.catalog.dialect(name), "tables": tables,
                            "error": None})
            except DataAskError as exc:
                out.append({"name": name, "dialect": None, "tables": [], "error": str(exc)})
        return out

    def columns(self, connection: str, table: str) -> dict[str, str]:
        """Column name -> type of one table."""
        return {k: str(v) for k, v in self.engine.catalog.schema(connection, table).items()}

    def _tables(self) -> list[dict]:
        refs = []
        for s in self.steps:
            ref = s if s["type"] == "source" else s.get("right") if s["type"] == "join" else None
            if isinstance(ref, dict) and ref.get("connection") and ref.get("table"):
                item = {"connection": ref["connection"], "table": ref["table"]}
                if item not in refs:
                    refs.append(item)
        return refs

    def relationships(self) -> dict:
        """Tables the flow reads (columns, key columns) and the joins between them; suggested
        joins (from :meth:`suggest_joins`) are listed with ``suggested: true``."""
        tables, edges = [], []
        for ref in self._tables():
            try:
                cols = self.columns(ref["connection"], ref["table"])
            except DataAskError:
                cols = {}
            tables.append({**ref, "key": f"{ref['connection']}.{ref['table']}", "columns": cols, "keys": []})
        by_key = {t["key"]: t for t in tables}

        flow_tables = list(tables)

        def owner(column: str, right: dict | None = None) -> dict | None:
            """The table a join's left column comes from: one read before ``right``."""
            before = flow_tables[: flow_tables.index(right)] if right in flow_tables else flow_tables
            return next((t for t in before if column in t["columns"]), before[0] if before else None)

        for s in self.steps:
            if s["type"] != "join" or not isinstance(s.get("right"), dict):
                continue
            right = by_key.get(f"{s['right'].get('connection')}.{s['right'].get('table')}")
            for pair in s.get("on") or []:
                left_col, right_col = (pair, pair) if isinstance(pair, str) else (list(pair) + [None, None])[:2]
                left = owner(left_col, right)
                if left is None or right is None:
                    continue
                edges.append({"from": left["key"], "from_column": left_col, "to": right["key"],
                              "to_column": right_col, "how": s.get("how", "inner"), "step_id": s["id"],
                              "suggested": False})
        for i, sug in enumerate(self.suggested_joins):
            key = f"{sug['right']['connection']}.{sug['right']['table']}"
            if key not in by_key:
                try:
                    cols = self.columns(sug["right"]["connection"], sug["right"]["table"])
                except DataAskError:
                    cols = {}
                by_key[key] = {"connection": sug["right"]["connection"], "table": sug["right"]["table"],
                               "key": key, "columns": cols, "keys": [], "suggested": True}
                tables.append(by_key[key])
            left = owner(sug["left"])
            if left is not None:
                edges.append({"from": left["key"], "from_column": sug["left"], "to": key,
                              "to_column": sug["right"]["column"], "how": sug["step"].get("how", "inner"),
                              "step_id": None,
                              "suggested": True, "suggestion": i, "confidence": sug["confidence"]})
        for e in edges:
            for key, col in ((e["from"], e["from_column"]), (e["to"], e["to_column"])):
                if col and col not in by_key[key]["keys"]:
                    by_key[key]["keys"].append(col)
        return {"tables": tables, "joins": edges}

    def accept_join(self, index: int) -> str:
        """Add suggested join number ``index`` as a join step."""
        if not 0 <= index < len(self.suggested_joins):
            raise UsageError(f"No suggested join #{index}; ask for suggestions again.")
        return self.add_step(self.suggested_joins[index]["step"])

    # -- save and export -------------------------------------------------------------------
    def save(self, name: str | None = None, *, description: str = "", overwrite: bool = False) -> dict:
        """Save the flow as a dataset of the workspace (updates the dataset it came from)."""
        name = name or (self.dataset or {}).get("name") or self.meta.get("output_name")
        if not name:
            raise UsageError("Give the flow a name to save it as a dataset.")
        same = self.dataset is not None and self.dataset["name"] == name
        ds = datasets.save_flow(self.da, self.flow(), name, self.workspace, description=description,
                                dataset_id=self.dataset["id"] if same else None,
                                version=self.dataset["version"] if same else None, overwrite=overwrite)
        self.dataset = {"id": ds.id, "name": ds.name, "version": ds.version, "description": ds.description}
        return dict(self.dataset)

    def export(self, kind: str = "sql", *, dialect: str | None = None, view_name: str | None = None) -> str:
        """The flow as SQL (``dialect`` default: the source's), ibis Python code (``"code"``)
        or a ``CREATE VIEW`` statement (``"view"``) for the user to run where they may write.

        Every pooled connection is read-only: :meth:`save_view` creates the view itself where
        the connection allows views.
        """
        flow = self.flow()
        if kind == "sql":
            return self.engine.sql(flow, dialect)
        if kind == "code":
            return self.engine.code(flow)
        if kind == "view":
            if len(flow.connections()) > 1:
                raise FlowError("A view lives in one database; this flow reads several connections.",
                                hint="Save it as a dataset instead (it runs through %%federate).")
            name = view_name or flow.output_name or (self.dataset or {}).get("name")
            if not name or not name.replace("_", "").isalnum():
                raise UsageError("Give the view a name of letters, digits and underscores.")
            return f"CREATE VIEW {name} AS\n{self.engine.sql(flow, dialect)}"
        raise UsageError(f"Unknown export {kind!r}; use sql, code or view.")

    def save_view(self, view_name: str | None = None, *, connection: str | None = None,
                  replace: bool = False) -> dict:
        """Create the flow's output as a view in its database (only where the connection
        allows views; see :func:`~dataask_jupyter.prep.views.save_view`)."""
        from .views import save_view

        name = view_name or self.meta.get("output_name") or (self.dataset or {}).get("name")
        if not name:
            raise UsageError("Give the view a name of letters, digits and underscores.")
        return save_view(self.da, self.flow(), connection, name, replace, workspace=self.workspace).to_dict()

    # -- the canvas's state ----------------------------------------------------------------
    def state(self) -> dict:
        """Everything the canvas shows besides previews and profiles (JSON-ready)."""
        started = time.perf_counter()
        statuses = self.statuses()
        return {"flow": self.flow_dict(), "statuses": statuses, "selected": self.selected,
                "can_undo": self.can_undo, "can_redo": self.can_redo, "dataset": self.dataset,
                "workspace": self.workspace, "check_seconds": round(time.perf_counter() - started, 4)}


def _json_flow(source: str | bytes | Path) -> dict:
    """A flow's JSON (text or file) as a dict, without validating its steps."""
    if isinstance(source, Path):
        try:
            source = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise FlowError(f"Cannot read the flow file {source.name}: {exc.strerror}.") from None
    try:
        data = json.loads(source)
    except json.JSONDecodeError as exc:
        raise FlowError(f"The flow is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    if not isinstance(data, dict):
        raise FlowError('A flow is a JSON object: {"steps": [...]}.')
    return data


def step_template(kind: str, columns: dict[str, str]) -> dict:
    """A new step of type ``kind``, pre-filled from its input ``columns`` (name -> type)."""
    names = list(columns)
    first = names[0] if names else ""
    numbers = [c for c, t in columns.items() if any(w in t for w in ("int", "float", "decimal"))]
    texts = [c for c, t in columns.items() if t.startswith("string")]
    templates: dict[str, dict] = {
        "filter": {"conditions": [{"column": first, "op": "is not null"}], "combine": "and"},
        "select": {"columns": names[:5]},
        "hide": {"columns": names[-1:]},
        "rename": {"columns": {first: f"{first}_renamed"} if first else {}},
        "calculate": {"name": "new_column", "expression": numbers[0] if numbers else "1"},
        "aggregate": {"group_by": texts[:1], "measures": [{"function": "count", "as": "rows"}]},
        "pivot": {"index": texts[:1], "columns": texts[1] if len(texts) > 1 else first, "function": "count"},
        "unpivot": {"columns": numbers[:2]},
        "sort": {"by": [{"column": first, "descending": False}]},
        "deduplicate": {"columns": names[:1]},
        "fill_nulls": {"values": {numbers[0]: 0} if numbers else {}},
        "change_type": {"columns": {first: "string"} if first else {}},
        "limit": {"n": 100},
        "join": {"right": {"connection": "", "table": ""}, "on": [], "how": "left"},
        "source": {"connection": "", "table": ""},
    }
    if kind not in templates:
        raise FlowError(f"Unknown step type {kind!r}; use one of: {', '.join(STEP_TYPES)}.")
    return {"type": kind, **json.loads(json.dumps(templates[kind]))}
