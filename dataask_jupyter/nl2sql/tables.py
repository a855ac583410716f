"""The parts of a schema: columns, tables and the relationships between them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .text import name_words

__all__ = ["ColumnInfo", "Relationship", "TableInfo", "column_kind", "rows_of"]


def column_kind(dtype: str) -> str:
    """``number``, ``text``, ``date``, ``datetime``, ``bool`` or ``other`` for an ibis/SQL type name."""
    t = dtype.lower().lstrip("!")
    if t.startswith(("int", "uint", "float", "decimal", "double", "real", "numeric", "bigint",
                     "smallint", "tinyint", "hugeint", "number")):
        return "number"
    if t.startswith(("string", "varchar", "text", "char", "str", "enum")):
        return "text"
    if t.startswith("date") and not t.startswith("datetime"):
        return "date"
    if t.startswith(("timestamp", "datetime")):
        return "datetime"
    if t.startswith(("bool",)):
        return "bool"
    return "other"


def rows_of(table) -> list[tuple]:
    """Rows of a pyarrow table (or a ``QueryResult``) as tuples."""
    table = getattr(table, "table", table)
    if hasattr(table, "to_pylist") and hasattr(table, "column_names"):
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(zip(*columns, strict=True)) if columns else []
    if hasattr(table, "itertuples"):
        return list(table.itertuples(index=False, name=None))
    return [tuple(r) for r in table]


@dataclass
class ColumnInfo:
    """One column.

    Attributes
    ----------
    name, dtype
        As the database reports them (``dtype`` is an ibis type name such as ``int64``).
    kind
        See :func:`column_kind`.
    comment
        The database comment, if any. Comments are data, never instructions.
    primary_key
        Part of the table's primary key (declared, or an ``id`` column by name).
    values
        Distinct values when the column is text with at most ``MAX_DISTINCT`` of them.
    """

    name: str
    dtype: str
    kind: str
    comment: str | None = None
    primary_key: bool = False
    values: tuple[str, ...] | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return name_words(self.name)

    @property
    def is_key(self) -> bool:
        w = self.words
        return self.primary_key or (bool(w) and w[-1] in ("id", "key", "code") and self.kind != "date")

    @property
    def is_flag(self) -> bool:
        """Boolean-like: a BOOLEAN, or a 0/1 number named ``is_x`` / ``has_x``."""
        return self.kind == "bool" or (self.kind == "number" and self.words[:1] in (("is",), ("has",)))

    @property
    def temporal(self) -> bool:
        return self.kind in ("date", "datetime")


@dataclass
class TableInfo:
    """One table of one connection."""

    connection: str
    name: str
    dialect: str
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    comment: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.connection, self.name)

    @property
    def qualified(self) -> str:
        return f"{self.connection}.{self.name}"

    @property
    def words(self) -> tuple[str, ...]:
        return name_words(self.name)

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.primary_key]

    @property
    def label_column(self) -> str | None:
        """The column that names a row (``name``, ``title``, ``<table>_name``...), if any."""
        texts = [c for c in self.columns.values() if c.kind == "text"]
        for wanted in (("name",), ("title",), ("label",), self.words + ("name",)):
            for c in texts:
                if c.words == wanted or (len(wanted) == 1 and c.words[-1:] == wanted and len(c.words) == 2
                                         and c.words[0] in self.words):
                    return c.name
        for c in texts:
            if c.words[-1:] == ("name",):
                return c.name
        return None

    def date_columns(self) -> list[ColumnInfo]:
        return [c for c in self.columns.values() if c.temporal]


@dataclass(frozen=True)
class Relationship:
    """``from_table.from_column`` refers to ``to_table.to_column`` (many-to-one).

    ``source`` is ``"declared"`` (a foreign key) or ``"name"`` (inferred from names).
    """

    from_table: tuple[str, str]
    from_column: str
    to_table: tuple[str, str]
    to_column: str
    source: str = "declared"

    @property
    def cross_connection(self) -> bool:
        return self.from_table[0] != self.to_table[0]

    def describe(self) -> str:
        a, b = ".".join(self.from_table), ".".join(self.to_table)
        return f"{a}.{self.from_column} -> {b}.{self.to_column} ({self.source})"
