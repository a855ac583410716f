"""DuckDB: files opened ``read_only``, with external file and network access off.

Team mode allows no outside files at all. Personal mode allows the database file's own
folder (views over Parquet files next to the database keep working) unless that folder
holds DataAsk's store or key file.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import ibis
import ibis.backends.duckdb
import pyarrow as pa

from ..errors import SourceError
from .base import Connector, FetchResult, OpenedBackend
from .policy import file_path

BATCH_ROWS = 65_536


class _PreconfiguredBackend(ibis.backends.duckdb.Backend):
    """The ibis DuckDB backend without its post-connect SETs (refused once the
    configuration is locked)."""

    def _post_connect(self, extensions=None) -> None:
        self._record_batch_readers_consumed = {}


class DuckDBConnector(Connector):
    family = "duckdb"
    dialect = "duckdb"

    def open(self, parsed, target, settings, password=None) -> OpenedBackend:
        path = file_path(parsed)
        config = {
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
            # never let `FROM df` read a Python variable of the calling process
            "python_enable_replacements": "false",
        }
        if settings.team:
            config["enable_external_access"] = "false"
        if path is None:
            raw = duckdb.connect(":memory:", config=config)
        else:
            path = Path(path).resolve()
            if not path.exists():
                raise SourceError(f"The DuckDB file does not exist: {path.name}.")
            raw = duckdb.connect(str(path), read_only=True, config=config)
        if raw.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
            # DuckDB shares one database instance per file within a process: another connection
            # (or the probe of `add --replace`) already configured and locked it
            backend = _PreconfiguredBackend.from_connection(raw)
        else:
            backend = ibis.duckdb.from_connection(raw)  # ibis sets the session time zone first
            if not settings.team:
                folder = path.parent if path is not None else None
                protected = {p.resolve().parent for p in settings.protected_paths()}
                if folder is not None and folder not in protected:
                    raw.execute("SET allowed_directories = $dirs", {"dirs": [f"{folder}/"]})
                raw.execute("SET enable_external_access = false")
            raw.execute("SET lock_configuration = true")
        return OpenedBackend(backend=backend, raw=raw, extra={"cursors": set()})

    def estimate_rows(self, opened, schema, table) -> float | None:
        cur = opened.raw.cursor()
        try:
            row = cur.execute(
                "SELECT estimated_size FROM duckdb_tables() WHERE table_name = $t AND schema_name = $s "
                "AND database_name = current_database()", {"t": table, "s": schema or "main"}).fetchone()
        finally:
            cur.close()
        return float(row[0]) if row and row[0] is not None else None

    def run(self, opened, sql, max_rows, timeout) -> FetchResult:
        cur = opened.raw.cursor()  # one cursor per query: DuckDB cursors are thread-safe to interrupt
        opened.extra["cursors"].add(cur)
        timer = threading.Timer(timeout, cur.interrupt) if timeout else None
        if timer:
            timer.start()
        try:
            cur.execute(sql)
            reader = cur.to_arrow_reader(BATCH_ROWS)
            batches, count = [], 0
            for batch in reader:
                batches.append(batch)
                count += batch.num_rows
                if count > max_rows:
                    break
            table = pa.Table.from_batches(batches, schema=reader.schema)
            return FetchResult(table.slice(0, max_rows), count > max_rows)
        finally:
            if timer:
                timer.cancel()
            opened.extra["cursors"].discard(cur)
            cur.close()

    def cancel(self, opened) -> None:
        for cur in list(opened.extra.get("cursors", ())):
            try:
                cur.interrupt()
            except duckdb.Error:
                pass

    def is_disconnect(self, exc) -> bool:
        return "connection already closed" in str(exc).lower()
