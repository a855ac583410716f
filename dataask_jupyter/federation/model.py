"""The federation plan: what each source runs and what DuckDB does afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FederationPlan", "SourceFetch"]


@dataclass(frozen=True)
class SourceFetch:
    """One query sent to one source; its Arrow result becomes a temp table.

    Attributes
    ----------
    source
        Connection name.
    sql
        The query in the source's own dialect (already re-validated by the guard).
    name
        Temp table name the residual SQL uses for the result.
    columns
        Column names of the result, in order.
    dialect
        The source's sqlglot dialect.
    kind
        ``"table"`` (one table: projection and safe filters), ``"join"`` (several
        tables of this source joined at the source), ``"query"`` (a whole subquery,
        CTE or the entire statement pushed down).
    tables
        The user-facing names (``connection.table``) this fetch reads.
    column_types
        Expected DuckDB type per column, used to coerce loosely typed results
        (SQLite dates arrive as text). May be empty.
    """

    source: str
    sql: str
    name: str
    columns: tuple[str, ...]
    dialect: str
    kind: str
    tables: tuple[str, ...] = ()
    column_types: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (used by ``--explain``)."""
        return {
            "source": self.source,
            "dialect": self.dialect,
            "kind": self.kind,
            "name": self.name,
            "tables": list(self.tables),
            "columns": list(self.columns),
            "sql": self.sql,
        }


@dataclass(frozen=True)
class FederationPlan:
    """A planned federated statement.

    Attributes
    ----------
    sql
        The statement as the user wrote it.
    fetches
        Queries sent to sources, fetched in parallel.
    residual_sql
        DuckDB SQL over the fetched temp tables.
    output_columns
        Final column names, as DuckDB would name them for the original statement.
    passthrough
        True when the whole statement runs at one source and its result is the answer
        (the residual is a plain ``SELECT *``; the executor skips the join engine).
    pushdown
        Pushdown level used: ``"full"`` or ``"tables"`` (only per-table projections and
        filters; the fallback when a source rejects pushed-down SQL).
    notes
        Human-readable remarks (why something was not pushed down).
    """

    sql: str
    fetches: tuple[SourceFetch, ...]
    residual_sql: str
    output_columns: tuple[str, ...]
    passthrough: bool = False
    pushdown: str = "full"
    notes: tuple[str, ...] = ()
    output_types: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """Connection names this plan reads, in first-use order."""
        seen: dict[str, None] = {}
        for fetch in self.fetches:
            seen.setdefault(fetch.source, None)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form of the plan."""
        return {
            "fetches": [f.to_dict() for f in self.fetches],
            "residual_sql": self.residual_sql,
            "output_columns": list(self.output_columns),
            "passthrough": self.passthrough,
            "pushdown": self.pushdown,
            "notes": list(self.notes),
        }

    def explain(self) -> str:
        """Plain-text explanation: the SQL sent to each source, then DuckDB's part."""
        lines: list[str] = []
        for i, fetch in enumerate(self.fetches, 1):
            tables = ", ".join(fetch.tables)
            lines.append(f"-- [{i}] {fetch.source} ({fetch.dialect}, {fetch.kind}: {tables}) -> {fetch.name}")
            lines.append(fetch.sql)
            lines.append("")
        if self.passthrough:
            lines.append("-- DuckDB: nothing left to do; the source's result is the answer")
        else:
            lines.append("-- DuckDB (isolated, in-memory) over the fetched tables")
            lines.append(self.residual_sql)
        for note in self.notes:
            lines.append(f"-- note: {note}")
        return "\n".join(lines)
