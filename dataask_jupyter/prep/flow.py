"""The prep flow format: JSON steps with ids, validated by pydantic.

A flow is a list of steps; the first is a ``source``, each later step transforms the
table the previous one produced::

    {"steps": [
       {"id": "s1", "type": "source", "connection": "shop_sales", "table": "orders"},
       {"id": "s2", "type": "join", "right": {"connection": "shop_crm", "table": "customers"},
        "on": [["customer_id", "id"]], "how": "inner"},
       {"id": "s3", "type": "filter", "combine": "and",
        "conditions": [{"column": "order_date", "op": ">=", "value": "2024-01-01"}]},
       {"id": "s4", "type": "aggregate", "group_by": ["region"],
        "measures": [{"column": "amount", "function": "sum", "as": "revenue"}]}],
     "output_name": "regional_revenue", "save_as": "dataset"}

Step types: ``source``, ``join``, ``filter``, ``select``, ``hide``, ``rename``, ``calculate``,
``aggregate``, ``pivot``, ``unpivot``, ``sort``, ``deduplicate``, ``fill_nulls``,
``change_type``, ``limit``. Steps without an ``id`` get ``s1``, ``s2``, ... by position. Every
step and the flow accept a free ``ui`` object (canvas positions and the like) that the
engine ignores. :meth:`Flow.parse` turns every validation problem into a
:class:`~dataask_jupyter.prep.errors.FlowError` naming the step.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from .errors import FlowError
from .steps import (
    _TYPE_ALIASES,
    AGG_FUNCTIONS,
    FILTER_OPS,
    NAME_RE,
    STEP_TYPES,
    AggregateStep,
    CalculateStep,
    ChangeTypeStep,
    Condition,
    ConditionGroup,
    DeduplicateStep,
    FillNullsStep,
    FilterStep,
    HideStep,
    JoinStep,
    LimitStep,
    Measure,
    PivotStep,
    RenameStep,
    SelectStep,
    SortKey,
    SortStep,
    SourceStep,
    Step,
    TableRef,
    UnpivotStep,
    _Model,
    ibis_type_name,
)

__all__ = [
    "AGG_FUNCTIONS", "FILTER_OPS", "STEP_TYPES", "AggregateStep", "CalculateStep", "ChangeTypeStep", "Condition",
    "ConditionGroup", "DeduplicateStep", "FillNullsStep", "FilterStep", "Flow", "HideStep", "JoinStep",
    "LimitStep", "Measure", "PivotStep", "RenameStep", "SelectStep", "SortKey", "SortStep", "SourceStep",
    "Step", "TableRef", "UnpivotStep", "ibis_type_name",
]


class _StepValueError(ValueError):
    def __init__(self, message: str, step_id: str | None) -> None:
        super().__init__(message)
        self.step_id = step_id


def _with_ids(data: Any) -> Any:
    """Normalize step type names and give steps without an id ``s<position>``."""
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return data
    steps, taken = [], {s.get("id") for s in data["steps"] if isinstance(s, dict)}
    for i, raw in enumerate(data["steps"]):
        if isinstance(raw, dict):
            raw = {**raw, "type": _normalize_type(raw.get("type"))}
            if raw.get("id") is None:
                n = i + 1
                while f"s{n}" in taken:
                    n += 1
                raw["id"] = f"s{n}"
                taken.add(raw["id"])
        steps.append(raw)
    return {**data, "steps": steps}


def _normalize_type(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    key = re.sub(r"[\s\-]+", "_", value.strip().lower())
    return _TYPE_ALIASES.get(key, key)


class Flow(_Model):
    """A whole prep flow. Build it with :meth:`parse` to get :class:`FlowError` messages."""

    version: int = 1
    steps: list[Step] = Field(min_length=1)
    output_name: str | None = None
    save_as: Literal["dataset", "view"] | None = None
    ui: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        return _with_ids(data)

    @field_validator("output_name")
    @classmethod
    def _output(cls, v: str | None) -> str | None:
        if v is not None and not NAME_RE.match(v):
            raise ValueError("use letters, digits and underscores, starting with a letter")
        return v

    @model_validator(mode="after")
    def _structure(self) -> Flow:
        if self.steps[0].type != "source":
            raise _StepValueError("the first step must be a 'source' step", self.steps[0].id)
        later = [s.id for s in self.steps[1:] if s.type == "source"]
        if later:
            raise _StepValueError("only the first step can be a source; add other tables with a join step",
                                  later[0])
        ids = [s.id for s in self.steps]
        dupes = [i for n, i in enumerate(ids) if i in ids[:n]]
        if dupes:
            raise _StepValueError(f"step id '{dupes[0]}' is used twice", dupes[0])
        return self

    # -- helpers --------------------------------------------------------------------------
    @property
    def source(self) -> SourceStep:
        return self.steps[0]  # type: ignore[return-value]

    def connections(self) -> list[str]:
        """Every connection the flow reads, in order of first use."""
        names = [self.source.connection] + [s.right.connection for s in self.steps if s.type == "join"]
        return list(dict.fromkeys(names))

    def index_of(self, step: str | int | None) -> int:
        """0-based position of ``step``: an id, or a 1-based number (``None``: the last step)."""
        if step is None:
            return len(self.steps) - 1
        ids = [s.id for s in self.steps]
        if isinstance(step, str) and step in ids:
            return ids.index(step)
        if isinstance(step, int) or (isinstance(step, str) and step.strip().lstrip("-").isdigit()):
            n = int(step)
            if 1 <= n <= len(self.steps):
                return n - 1
            raise FlowError(f"Step {n} does not exist: the flow has {len(self.steps)} step(s) (1-{len(self.steps)}).")
        from ..errors import did_you_mean

        raise FlowError(f"No step with id '{step}'.{did_you_mean(str(step), ids)}",
                        hint=f"Steps: {', '.join(ids)} (or a number 1-{len(ids)}).")

    def upto(self, step: str | int | None) -> Flow:
        """The flow cut after ``step`` (same ids)."""
        return self.model_copy(update={"steps": self.steps[: self.index_of(step) + 1]})

    def to_dict(self) -> dict:
        """JSON-ready dict (ids filled in, defaults omitted)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=False)

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def parse(cls, data: Flow | dict | str | bytes | Path) -> Flow:
        """Validate a flow given as a model, dict, JSON text or path to a JSON file.

        Raises
        ------
        FlowError
            With the id of the step at fault and the option (``field``) that is wrong.
        """
        if isinstance(data, Flow):
            return data
        if isinstance(data, Path):
            try:
                data = data.read_text(encoding="utf-8")
            except OSError as exc:
                raise FlowError(f"Cannot read the flow file {data.name}: {exc.strerror}.") from None
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise FlowError(f"The flow is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        if not isinstance(data, dict):
            raise FlowError('A flow is a JSON object: {"steps": [...]}.')
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _flow_error(exc, data) from None


def _flow_error(exc: ValidationError, data: dict) -> FlowError:
    data = _with_ids(data)
    err = exc.errors(include_url=False)[0]
    loc, msg = list(err["loc"]), err["msg"].removeprefix("Value error, ")
    if err["type"] == "union_tag_invalid" or (err["type"] == "literal_error" and loc[-1:] == ["type"]):
        msg = f"unknown step type; use one of: {', '.join(STEP_TYPES)}"
    elif err["type"] == "union_tag_not_found":
        msg = "every step needs a 'type'"
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        index = loc[1]
        raw = data["steps"][index] if index < len(data.get("steps", [])) else {}
        step_id = raw.get("id") if isinstance(raw, dict) and raw.get("id") else f"s{index + 1}"
        field = _field_path(loc[2:])
        kind = raw.get("type") if isinstance(raw, dict) else None
        where = f"Step {index + 1} ('{step_id}'{', ' + str(kind) if kind else ''})"
        return FlowError(f"{where}: {field + ': ' if field else ''}{msg}.", step_id=step_id, field=field)
    cause = (err.get("ctx") or {}).get("error")
    step_id = getattr(cause, "step_id", None)
    if step_id is not None:
        ids = [s.get("id") if isinstance(s, dict) else None for s in data.get("steps", [])]
        where = f"Step {len(ids) - ids[::-1].index(step_id)} ('{step_id}')" if step_id in ids else f"Step '{step_id}'"
        return FlowError(f"{where}: {msg}.", step_id=step_id)
    field = _field_path(loc)
    return FlowError(f"Invalid flow: {field + ': ' if field else ''}{msg}.", field=field)


def _field_path(loc: list) -> str | None:
    out = ""
    for part in loc:
        if part in STEP_TYPES or part in ("condition", "group"):
            continue  # discriminator tags
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None
