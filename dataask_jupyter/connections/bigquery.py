"""BigQuery through ibis (``bigquery://project/dataset``). Not tested live here: no network.

The secret, when given, is a service-account JSON document; otherwise Application Default
Credentials are used.
"""

from __future__ import annotations

import json

from ..errors import SourceError, UsageError
from .base import Connector, FetchResult, OpenedBackend, rows_to_arrow


class BigQueryConnector(Connector):
    family = "bigquery"
    dialect = "bigquery"
    live_tested = False

    def connect_args(self, parsed, target, settings, password):
        if not parsed.host:
            raise UsageError("A BigQuery URL needs a project: bigquery://PROJECT/DATASET.")
        args = {"project_id": parsed.host, "dataset_id": parsed.database or ""}
        if "location" in parsed.query:
            args["location"] = parsed.query["location"]
        if password:
            try:
                info = json.loads(password)
            except ValueError:
                raise UsageError("The BigQuery secret must be a service-account JSON document.") from None
            args["credentials_info"] = info
        return args

    def open(self, parsed, target, settings, password=None) -> OpenedBackend:
        try:
            import ibis

            bq = ibis.bigquery
            from google.oauth2 import service_account
        except (ImportError, AttributeError):
            raise SourceError(
                "BigQuery support is not installed.", hint="pip install 'dataask-jupyter[bigquery]'"
            ) from None
        args = self.connect_args(parsed, target, settings, password)
        info = args.pop("credentials_info", None)
        if info is not None:
            args["credentials"] = service_account.Credentials.from_service_account_info(info)
        backend = bq.connect(**args)
        return OpenedBackend(backend=backend, raw=backend.client)

    def run(self, opened, sql, max_rows, timeout) -> FetchResult:
        result = opened.backend.raw_sql(sql).result(timeout=timeout, max_results=max_rows + 1)
        rows = list(result)
        names = [f.name for f in result.schema]
        return FetchResult(rows_to_arrow(names, [tuple(r.values()) for r in rows[:max_rows]]), len(rows) > max_rows)

    def cancel(self, opened) -> None:  # BigQuery jobs are cancelled with the job handle; best effort
        pass

    def close(self, opened) -> None:
        try:
            opened.backend.disconnect()
        except Exception:
            pass
