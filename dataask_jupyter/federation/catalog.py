"""Resolve ``connection.table`` names in a federated statement to source tables.

One :class:`Catalog` lives for one planning call and memoizes ``list_tables`` and
``table_columns`` so each source is asked at most once per table.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import (
    ConnectionNotFound,
    DataAskError,
    SourceError,
    TableNotFound,
    UsageError,
    did_you_mean,
)
from .sources import FederationSource, sanitize_message

__all__ = ["Catalog", "TableRef"]


@dataclass(frozen=True)
class TableRef:
    """A resolved source table.

    Attributes
    ----------
    source
        Connection name (the key in the ``sources`` mapping).
    table
        The table as the source lists it: ``"table"`` or ``"schema.table"``.
    columns
        Column name to source type name, in order.
    """

    source: str
    table: str
    columns: tuple[tuple[str, str], ...]

    @property
    def qualified(self) -> str:
        """User-facing name, ``connection.table``."""
        return f"{self.source}.{self.table}"

    @property
    def parts(self) -> tuple[str | None, str]:
        """``(schema or None, table)`` for building the source-side table reference."""
        schema, _, name = self.table.rpartition(".")
        return (schema or None, name)


def _lower(name: str) -> str:
    return name.casefold()


class Catalog:
    """Name resolution over a set of sources.

    Parameters
    ----------
    sources
        Connection name to source.
    """

    def __init__(self, sources: Mapping[str, FederationSource]) -> None:
        self.sources = dict(sources)
        self._tables: dict[str, list[str]] = {}
        self._columns: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self.unlisted: list[str] = []
        self._refreshed: set[str] = set()

    # -- source access ------------------------------------------------------------------
    def tables(self, source: str) -> list[str]:
        """Tables of ``source`` (memoized); driver errors become :class:`SourceError`."""
        if source not in self._tables:
            try:
                self._tables[source] = list(self.sources[source].list_tables())
            except DataAskError:
                raise
            except Exception as exc:
                raise SourceError(
                    f"Connection '{source}' could not list its tables: {sanitize_message(exc)}"
                ) from None
        return self._tables[source]

    def columns(self, source: str, table: str) -> tuple[tuple[str, str], ...]:
        """Columns of ``source``'s ``table`` (memoized)."""
        key = (source, table)
        if key not in self._columns:
            try:
                cols = self.sources[source].table_columns(table)
            except DataAskError:
                raise
            except Exception as exc:
                raise SourceError(
                    f"Connection '{source}' could not describe '{table}': {sanitize_message(exc)}"
                ) from None
            self._columns[key] = tuple((str(k), str(v or "")) for k, v in cols.items())
        return self._columns[key]

    # -- resolution ---------------------------------------------------------------------
    def connection(self, name: str) -> str | None:
        """The connection called ``name`` (exact, else unique case-insensitive match)."""
        if name in self.sources:
            return name
        matches = [s for s in self.sources if _lower(s) == _lower(name)]
        return matches[0] if len(matches) == 1 else None

    def refresh(self, source: str) -> bool:
        """Ask ``source`` to drop its cached schema (if it caches); True when it did."""
        refresh = getattr(self.sources[source], "refresh", None)
        if refresh is None:
            return False
        refresh()
        self._tables.pop(source, None)
        for key in [k for k in self._columns if k[0] == source]:
            del self._columns[key]
        return True

    def _match(self, source: str, wanted: str, *, refresh: bool = True) -> list[str]:
        found = self._match_listed(source, wanted)
        if not found and refresh and source not in self._refreshed and self.refresh(source):
            self._refreshed.add(source)  # a table created a moment ago: list again, once
            found = self._match_listed(source, wanted)
        return found

    def _match_listed(self, source: str, wanted: str) -> list[str]:
        tables = self.tables(source)
        exact = [t for t in tables if t == wanted]
        if exact:
            return exact
        folded = [t for t in tables if _lower(t) == _lower(wanted)]
        if folded or "." in wanted:
            return folded
        # "orders" also finds "public.orders" / "main.orders" when that is unique.
        return [t for t in tables if _lower(t.rpartition(".")[2]) == _lower(wanted)]

    def resolve(self, parts: list[str]) -> TableRef:
        """Resolve a table reference written as 1, 2 or 3 dotted parts.

        Raises
        ------
        ConnectionNotFound
            The first part names no connection (with a suggestion).
        TableNotFound
            No such table in the connection (with a suggestion).
        UsageError
            An unqualified name matches tables in several connections.
        """
        written = ".".join(parts)
        if len(parts) == 1:
            return self._resolve_unqualified(parts[0])
        head, rest = parts[0], ".".join(parts[1:])
        source = self.connection(head)
        if source is None:
            if len(parts) == 2:  # maybe "schema.table" without a connection
                found = self._search(written)
                if len(found) == 1:
                    return self._ref(*found[0])
                if len(found) > 1:
                    raise self._ambiguous(written, found)
            raise ConnectionNotFound(
                f"Unknown connection '{head}' in '{written}'.{did_you_mean(head, self.sources)}",
                hint="Name tables as <connection>.<table> or <connection>.<schema>.<table>.",
            )
        matches = self._match(source, rest)
        if len(matches) == 1:
            return self._ref(source, matches[0])
        if len(matches) > 1:
            raise UsageError(
                f"'{written}' matches several tables in '{source}': "
                + ", ".join(f"{source}.{m}" for m in matches)
                + ". Add the schema."
            )
        candidates = [f"{source}.{t}" for t in self.tables(source)]
        raise TableNotFound(
            f"Table '{rest}' not found in connection '{source}'.{did_you_mean(written, candidates)}"
        )

    def _search(self, wanted: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for refresh in (False, True):  # cached lists first; only a miss everywhere asks again
            for source in self.sources:
                try:
                    found.extend((source, t) for t in self._match(source, wanted, refresh=refresh))
                except SourceError:
                    if source not in self.unlisted:
                        self.unlisted.append(source)
            if found:
                break
        return found

    def _ambiguous(self, written: str, found: list[tuple[str, str]]) -> UsageError:
        names = ", ".join(f"{s}.{t}" for s, t in found)
        return UsageError(
            f"Table '{written}' exists in several connections: {names}. "
            f"Qualify it as <connection>.{written}."
        )

    def _resolve_unqualified(self, name: str) -> TableRef:
        found = self._search(name)
        if len(found) == 1:
            return self._ref(*found[0])
        if len(found) > 1:
            raise self._ambiguous(name, found)
        candidates: list[str] = []
        for source in self.sources:
            if source not in self.unlisted:
                candidates.extend(f"{source}.{t}" for t in self.tables(source))
        bare = {c.split(".", 1)[1]: c for c in candidates}
        match = difflib.get_close_matches(name, list(bare), n=1, cutoff=0.6)
        close = f" Did you mean '{bare[match[0]]}'?" if match else did_you_mean(name, candidates)
        down = f" (could not list: {', '.join(self.unlisted)})" if self.unlisted else ""
        raise TableNotFound(f"Table '{name}' not found in any connection{down}.{close}")

    def _ref(self, source: str, table: str) -> TableRef:
        return TableRef(source=source, table=table, columns=self.columns(source, table))
