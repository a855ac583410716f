"""Step models of a prep flow (one pydantic model per step type) and their vocabularies.

See :mod:`dataask_jupyter.prep.flow` for the flow format as a whole.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
STEP_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_PIVOT_VALUES = 200
MAX_EXPRESSION_CHARS = 5000

STEP_TYPES = ("source", "join", "filter", "select", "hide", "rename", "calculate", "aggregate", "pivot",
              "unpivot", "sort", "deduplicate", "fill_nulls", "change_type", "limit")
_TYPE_ALIASES = {
    "calculated_field": "calculate", "calculated": "calculate", "calc": "calculate", "formula": "calculate",
    "select_columns": "select", "keep_columns": "select", "hide_columns": "hide", "drop": "hide",
    "drop_columns": "hide", "remove_columns": "hide", "group_by": "aggregate", "aggregation": "aggregate",
    "dedupe": "deduplicate", "distinct": "deduplicate", "fill_null": "fill_nulls", "fillna": "fill_nulls",
    "cast": "change_type", "order_by": "sort",
}
FILTER_OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "between", "contains", "starts with",
              "ends with", "is null", "is not null")
_OP_ALIASES = {"==": "=", "<>": "!=", "not_in": "not in", "notin": "not in", "starts_with": "starts with",
               "startswith": "starts with", "ends_with": "ends with", "endswith": "ends with",
               "is_null": "is null", "isnull": "is null", "is_not_null": "is not null", "notnull": "is not null",
               "not null": "is not null"}
AGG_FUNCTIONS = ("count", "count_distinct", "sum", "avg", "min", "max", "median")
_AGG_ALIASES = {"count distinct": "count_distinct", "nunique": "count_distinct", "distinct_count": "count_distinct",
                "mean": "avg", "average": "avg"}
#: Types ``change_type`` accepts (user word -> ibis type); ``decimal(p, s)`` is accepted too.
TYPE_NAMES = {
    "int": "int64", "integer": "int64", "bigint": "int64", "int64": "int64", "int32": "int32",
    "float": "float64", "double": "float64", "float64": "float64", "number": "float64",
    "decimal": "decimal(38, 9)", "string": "string", "text": "string", "varchar": "string",
    "date": "date", "timestamp": "timestamp", "datetime": "timestamp", "boolean": "boolean", "bool": "boolean",
}
_DECIMAL_RE = re.compile(r"^decimal\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$")


def ibis_type_name(name: str) -> str:
    """The ibis type for a ``change_type`` type word; raises ``ValueError`` for others."""
    key = str(name).strip().lower()
    if key in TYPE_NAMES:
        return TYPE_NAMES[key]
    m = _DECIMAL_RE.match(key)
    if m and 0 < int(m.group(1)) <= 38 and int(m.group(2)) <= int(m.group(1)):
        return f"decimal({m.group(1)}, {m.group(2)})"
    raise ValueError(f"unknown type '{name}'; use one of: {', '.join(sorted(set(TYPE_NAMES)))} or decimal(p, s)")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _connection_name(cls, v: str) -> str:
    if not NAME_RE.match(v):
        raise ValueError(f"'{v}' is not a connection name")
    return v


def _agg_function(cls, v: Any) -> Any:
    if not isinstance(v, str):
        return v
    key = " ".join(v.strip().lower().split())
    key = _AGG_ALIASES.get(key, key.replace(" ", "_"))
    if key not in AGG_FUNCTIONS:
        raise ValueError(f"unknown function '{v}'; use one of: {', '.join(AGG_FUNCTIONS)}")
    return key


class TableRef(_Model):
    """A table of a named connection (``schema.table`` accepted)."""

    connection: str
    table: str = Field(min_length=1)

    _name = field_validator("connection")(_connection_name)


class StepBase(_Model):
    id: str | None = None
    label: str | None = None
    ui: dict[str, Any] | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is not None and not STEP_ID_RE.match(v):
            raise ValueError("step ids are 1-64 letters, digits, '_', '-', '.' or ':'")
        return v


class SourceStep(StepBase):
    type: Literal["source"]
    connection: str
    table: str = Field(min_length=1)

    _name = field_validator("connection")(_connection_name)


class JoinStep(StepBase):
    type: Literal["join"]
    right: TableRef
    on: list[tuple[str, str]] = Field(min_length=1)
    how: Literal["inner", "left", "right", "full"] = "inner"
    suffix: str = Field("_right", min_length=1, max_length=30)

    @field_validator("on", mode="before")
    @classmethod
    def _pairs(cls, v: Any) -> Any:
        if isinstance(v, str | dict):
            v = [v]
        out = []
        for item in v if isinstance(v, list) else []:
            if isinstance(item, str):
                item = (item, item)  # same column name on both sides
            elif isinstance(item, dict) and set(item) == {"left", "right"}:
                item = (item["left"], item["right"])
            out.append(item)
        return out if isinstance(v, list) else v

    @field_validator("how", mode="before")
    @classmethod
    def _how(cls, v: Any) -> Any:
        return {"outer": "full", "full outer": "full", "left outer": "left", "right outer": "right"}.get(
            str(v).lower(), str(v).lower()) if isinstance(v, str) else v


class Condition(_Model):
    """``column op value``; ``value`` may be ``{"column": "other"}`` to compare two columns."""

    column: str
    op: str
    value: Any = None
    case_sensitive: bool = True

    @field_validator("op", mode="before")
    @classmethod
    def _op(cls, v: Any) -> Any:
        if not isinstance(v, str):
            return v
        key = " ".join(v.strip().lower().split())
        key = _OP_ALIASES.get(key, key)
        if key not in FILTER_OPS:
            raise ValueError(f"unknown operator '{v}'; use one of: {', '.join(FILTER_OPS)}")
        return key

    @model_validator(mode="after")
    def _value_shape(self) -> Condition:
        op, v = self.op, self.value
        if op in ("in", "not in"):
            self.value = list(v) if isinstance(v, list | tuple) else [v]
            if not self.value:
                raise ValueError(f"'{op}' needs at least one value")
        elif op == "between":
            if not isinstance(v, list | tuple) or len(v) != 2:
                raise ValueError("'between' needs a list of two values [low, high]")
            self.value = list(v)
        elif op in ("is null", "is not null"):
            self.value = None
        elif isinstance(v, dict):
            if set(v) != {"column"} or not isinstance(v["column"], str):
                raise ValueError('a value object must be {"column": "<name>"}')
        elif isinstance(v, list | tuple):
            raise ValueError(f"'{op}' compares with one value, not a list (use 'in' for several)")
        elif v is None:
            raise ValueError(f"'{op}' needs a value (use 'is null' to find missing values)")
        return self


def _condition_kind(v: Any) -> str:
    if isinstance(v, dict):
        return "group" if "conditions" in v else "condition"
    return "group" if hasattr(v, "conditions") else "condition"


class ConditionGroup(_Model):
    """Conditions combined with ``and`` / ``or``; groups nest."""

    conditions: list[Annotated[
        Annotated[Condition, Tag("condition")] | Annotated[ConditionGroup, Tag("group")],
        Discriminator(_condition_kind),
    ]] = Field(min_length=1)
    combine: Literal["and", "or"] = "and"

    @field_validator("combine", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v


class FilterStep(StepBase):
    type: Literal["filter"]
    conditions: list[Annotated[
        Annotated[Condition, Tag("condition")] | Annotated[ConditionGroup, Tag("group")],
        Discriminator(_condition_kind),
    ]] = Field(min_length=1)
    combine: Literal["and", "or"] = "and"

    _lower = field_validator("combine", mode="before")(ConditionGroup._lower.__func__)


class SelectStep(StepBase):
    type: Literal["select"]
    columns: list[str] = Field(min_length=1)


class HideStep(StepBase):
    type: Literal["hide"]
    columns: list[str] = Field(min_length=1)


class RenameStep(StepBase):
    type: Literal["rename"]
    columns: dict[str, str] = Field(min_length=1, validation_alias="columns")

    @model_validator(mode="before")
    @classmethod
    def _mapping_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "mapping" in data and "columns" not in data:
            data = {**data, "columns": data["mapping"]}
            data.pop("mapping")
        return data

    @field_validator("columns")
    @classmethod
    def _new_names(cls, v: dict[str, str]) -> dict[str, str]:
        for new in v.values():
            if not new or not new.strip():
                raise ValueError("new column names cannot be empty")
        if len(set(v.values())) != len(v):
            raise ValueError("two columns would get the same new name")
        return v


class CalculateStep(StepBase):
    """Add (or replace) column ``name`` with the value of ``expression``."""

    type: Literal["calculate"]
    name: str = Field(min_length=1, max_length=128)
    expression: str = Field(min_length=1, max_length=MAX_EXPRESSION_CHARS)


class Measure(_Model):
    column: str | None = None
    function: str = "count"
    as_: str | None = Field(None, alias="as")

    _fn = field_validator("function", mode="before")(_agg_function)

    @model_validator(mode="after")
    def _needs_column(self) -> Measure:
        if self.column is None and self.function != "count":
            raise ValueError(f"'{self.function}' needs a column")
        return self

    @property
    def output_name(self) -> str:
        if self.as_:
            return self.as_
        return "count" if self.column is None else f"{self.function}_{self.column}"


class AggregateStep(StepBase):
    type: Literal["aggregate"]
    group_by: list[str] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> AggregateStep:
        if not self.group_by and not self.measures:
            raise ValueError("give group_by columns, measures, or both")
        names = [*self.group_by, *(m.output_name for m in self.measures)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"output column(s) {', '.join(dupes)} appear twice; set 'as' on the measures")
        return self


class PivotStep(StepBase):
    """One output column per value of ``columns``, holding ``function(values)``."""

    type: Literal["pivot"]
    index: list[str] = Field(default_factory=list)
    columns: str
    values: str | None = None
    function: str = "sum"
    column_values: list[Any] | None = Field(None, max_length=MAX_PIVOT_VALUES)

    _fn = field_validator("function", mode="before")(_agg_function)

    @model_validator(mode="after")
    def _check(self) -> PivotStep:
        if self.function == "median":
            raise ValueError("pivot supports count, count_distinct, sum, avg, min and max")
        if self.values is None and self.function != "count":
            raise ValueError(f"'{self.function}' needs a 'values' column")
        return self


class UnpivotStep(StepBase):
    type: Literal["unpivot"]
    columns: list[str] = Field(min_length=1)
    names_to: str = "name"
    values_to: str = "value"


class SortKey(_Model):
    column: str
    descending: bool = False


def _sort_keys(v: Any) -> Any:
    if isinstance(v, str | dict):
        v = [v]
    if isinstance(v, list):
        return [{"column": k} if isinstance(k, str) else k for k in v]
    return v


class SortStep(StepBase):
    type: Literal["sort"]
    by: list[SortKey] = Field(min_length=1)

    _keys = field_validator("by", mode="before")(_sort_keys)


class DeduplicateStep(StepBase):
    """Keep one row per ``columns`` value (all columns when omitted).

    ``keep``: ``first``/``last`` by ``order_by`` (any one row when no order is given), or
    ``none`` to drop every row whose key appears more than once.
    """

    type: Literal["deduplicate"]
    columns: list[str] | None = None
    keep: Literal["first", "last", "none"] = "first"
    order_by: list[SortKey] = Field(default_factory=list)

    _keys = field_validator("order_by", mode="before")(_sort_keys)


class FillNullsStep(StepBase):
    type: Literal["fill_nulls"]
    values: dict[str, Any] = Field(min_length=1)


class ChangeTypeStep(StepBase):
    """Cast columns. ``on_error="null"`` gives NULL for values that do not convert (where the
    database can; SQLite converts leniently instead), ``"fail"`` lets the query fail."""

    type: Literal["change_type"]
    columns: dict[str, str] = Field(min_length=1)
    on_error: Literal["null", "fail"] = "null"

    @field_validator("columns")
    @classmethod
    def _types(cls, v: dict[str, str]) -> dict[str, str]:
        for col, name in v.items():
            try:
                ibis_type_name(name)
            except ValueError as exc:
                raise ValueError(f"column '{col}': {exc}") from None
        return v


class LimitStep(StepBase):
    type: Literal["limit"]
    n: int = Field(ge=0, le=100_000_000)


Step = Annotated[
    SourceStep | JoinStep | FilterStep | SelectStep | HideStep | RenameStep | CalculateStep | AggregateStep
    | PivotStep | UnpivotStep | SortStep | DeduplicateStep | FillNullsStep | ChangeTypeStep | LimitStep,
    Field(discriminator="type"),
]
