"""``POST /dataask/api/ask``: answer a question in plain language (the sidebar's ask box).

One core call, :meth:`DataAsk.ask`, and the ``dataask ask --json`` shape
(:meth:`AskResult.to_dict`) with the rows capped for the browser. The workspace is named
by its id (``"workspace": 3``) or its name; without one it is ``default``. Asking is
reading: a workspace viewer may ask. Questions the engine cannot map (unknown words,
ambiguous terms) are a ``400`` carrying the engine's explanation; nothing ran.
"""

from __future__ import annotations

from typing import Annotated

from jupyter_server.auth.decorator import authorized
from pydantic import Field
from tornado import web
from tornado.ioloop import IOLoop

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.dashboards.models import ConnectionName, Id, Input
from dataask_jupyter.errors import UsageError

from .endpoint import endpoint
from .workspaces import Handler

MAX_ROWS = 1000
MAX_QUESTION = 2000


class AskIn(Input):
    """A question, optionally limited to some connections of one workspace."""

    question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION)]
    connections: list[ConnectionName] | None = Field(None, max_length=20)
    workspace: Id | Annotated[str, Field(min_length=1, max_length=200)] | None = None
    max_rows: int = Field(MAX_ROWS, ge=1, le=MAX_ROWS)


def federate_sql(result) -> str:
    """The answer's SQL as ``%%federate`` takes it: tables named ``connection.table``, DuckDB dialect.

    Federated answers already are; a one-connection answer gets its tables qualified with
    that connection (CTE names and table functions stay as they are). If the SQL cannot be
    parsed it is returned unchanged (``%%federate`` still resolves unambiguous bare names).
    """
    if result.federated or len(result.connections) != 1:
        return result.sql
    import sqlglot
    from sqlglot import exp

    conn = exp.to_identifier(result.connections[0])
    try:
        tree = sqlglot.parse_one(result.sql, read=result.dialect or None)
    except sqlglot.errors.SqlglotError:
        return result.sql
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.args.get("catalog"):
            continue
        if table.args.get("db"):
            table.set("catalog", conn.copy())
        elif table.name.lower() not in ctes:
            table.set("db", conn.copy())
    return tree.sql(dialect="duckdb", pretty=True)


def answer(result, max_rows: int) -> dict:
    """The CLI's JSON of ``result`` plus ``connections``, ``truncated`` and ``federate_sql``,
    rows capped at ``max_rows``."""
    out = result.to_dict(explain=False)
    rows = out["rows"]
    out["truncated"] = bool(getattr(result, "truncated", False)) or len(rows) > max_rows
    out["rows"] = rows[:max_rows]
    out["connections"] = list(result.connections)
    out["federate_sql"] = federate_sql(result)
    return out


class AskHandler(Handler):
    def _endpoint_key(self, spec, path: dict, raw_body: dict | None):
        """The workspace *name* the connections live under; an id is resolved (and checked) first."""
        ws = (raw_body or {}).get("workspace")
        if isinstance(ws, int) and not isinstance(ws, bool):
            if not 0 < ws < 2**53:
                raise UsageError("workspace must be a positive id or a name.")
            return self.api.authorize(self.principal, Scope.workspace, ws, Role.viewer).workspace.name
        return super()._endpoint_key(spec, path, raw_body)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace_name, Role.viewer, body=AskIn, key_in_body=True,
              summary="Answer a question: SQL, rows (capped), chart and insights")
    async def post(self, grant, body):
        def run():
            return self.dataask.ask(body.question.strip(), workspace=grant.workspace.name,
                                    connections=body.connections or None)

        result = await IOLoop.current().run_in_executor(None, run)
        return answer(result, body.max_rows)
