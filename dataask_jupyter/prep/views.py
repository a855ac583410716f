"""Save a flow as a view in the database it reads: DataAsk's only write.

The flow is compiled to one SELECT for the connection's dialect, checked with the read-only
guard, wrapped in a ``CREATE [OR REPLACE] VIEW`` built as a sqlglot tree (the name is a
validated, quoted identifier; nothing is pasted into SQL text), re-checked, and run on a
short-lived read-write session (:meth:`ConnectionManager.writable`) that exists only for
this call. Connections are read-only unless saved with ``--allow-views``; in team mode the
admin must also set ``DATAASK_ALLOW_VIEWS=1``. Every attempt lands in the audit log.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from ..connections.sanitize import sanitize_error
from ..connections.writable import ALLOW_VIEWS, admin_allows_views
from ..errors import AlreadyExists, DataAskError, Forbidden, SourceError, UnsafeSQL, UsageError
from ..safety import assert_read_only
from ..store import DEFAULT_WORKSPACE
from .errors import FlowError
from .flow import Flow

_PART = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
VIEW_NAME_RE = re.compile(rf"^(?:({_PART})\.)?({_PART})$")
#: Databases whose DDL is transactional: replace = DROP VIEW + CREATE VIEW in one transaction,
#: so the view may change its columns (PostgreSQL's CREATE OR REPLACE VIEW cannot; SQLite has none).
_DROP_THEN_CREATE = frozenset({"sqlite", "postgres"})


@dataclass
class SavedView:
    connection: str
    view: str
    dialect: str
    replaced: bool
    sql: str
    seconds: float

    def to_dict(self) -> dict:
        return {"connection": self.connection, "view": self.view, "dialect": self.dialect,
                "replaced": self.replaced, "sql": self.sql, "seconds": round(self.seconds, 4)}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        verb = "Replaced" if self.replaced else "Created"
        return {"text/plain": f"{verb} view {self.view} in '{self.connection}' ({self.seconds:.3f} s)."}


def parse_view_name(name: str) -> tuple[str | None, str]:
    """``(schema, name)`` of ``name``: a plain identifier, optionally ``schema.name``."""
    m = VIEW_NAME_RE.match(name) if isinstance(name, str) else None
    if m is None:
        raise UsageError(f"{str(name)[:80]!r} is not a valid view name.",
                         hint="Use letters, digits and underscores, starting with a letter "
                         "(optionally schema.name), e.g. regional_revenue.")
    return m.group(1), m.group(2)


def _table(schema: str | None, name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True),
                     db=exp.to_identifier(schema, quoted=True) if schema else None)


def view_statements(select_sql: str, dialect: str, schema: str | None, name: str, *, replace: bool) -> list[str]:
    """The statements that create (or replace) the view, each re-parsed and re-checked."""
    select = assert_read_only(select_sql, dialect=dialect)
    drop_first = replace and dialect in _DROP_THEN_CREATE
    create = exp.Create(this=_table(schema, name), kind="VIEW", expression=select.copy(),
                        replace=replace and not drop_first)
    statements = [create.sql(dialect=dialect)]
    if drop_first:
        statements.insert(0, exp.Drop(kind="VIEW", exists=True, tables=[_table(schema, name)]).sql(dialect=dialect))
    for sql in statements:  # belt and braces: exactly one statement of the expected kind, our name
        parsed = [e for e in sqlglot.parse(sql, read=dialect) if e is not None]
        ok = len(parsed) == 1 and isinstance(parsed[0], exp.Create | exp.Drop) \
            and str(parsed[0].args.get("kind", "")).upper() == "VIEW"
        if ok and isinstance(parsed[0], exp.Create):
            target = parsed[0].this
            ok = target.name == name and (target.db or None) == schema
            assert_read_only(parsed[0].expression.sql(dialect=dialect), dialect=dialect)
        if not ok:
            raise UnsafeSQL("The view statement did not come out as one CREATE VIEW; nothing was run.")
    return statements


def save_view(da, flow, connection: str | None, view_name: str, replace: bool = False, *,
              workspace: str = DEFAULT_WORKSPACE, actor: str | None = None) -> SavedView:
    """Create ``view_name`` in ``connection``'s database from ``flow``'s output.

    Parameters
    ----------
    da
        The :class:`~dataask_jupyter.core.DataAsk`.
    flow
        A flow (model, dict, JSON text or path) that reads only ``connection``.
    connection
        Where the view is created (default: the flow's connection); it must have been saved
        with ``--allow-views``.
    view_name
        ``name`` or ``schema.name``: letters, digits, underscores; created as a quoted identifier.
    replace
        Replace an existing view of that name (never a table).

    Returns
    -------
    SavedView
        ``to_dict()`` has ``connection``, ``view``, ``dialect``, ``replaced``, ``sql``, ``seconds``.

    Raises
    ------
    Forbidden
        The connection does not allow views (the hint is the command that allows them).
    FlowError
        The flow reads several connections, or another one than ``connection``.
    AlreadyExists
        The view exists and ``replace`` is false.
    """
    from .api import PrepSession

    started = time.perf_counter()
    parsed_flow = Flow.parse(flow)
    conns = parsed_flow.connections()
    if len(conns) > 1:
        raise FlowError(f"A view lives in one database; this flow reads several connections ({', '.join(conns)}).",
                        hint="Save it as a dataset instead (it runs through %%federate).")
    connection = connection or conns[0]
    if conns[0] != connection:
        raise FlowError(f"This flow reads '{conns[0]}', not '{connection}': a view can only be saved where its "
                        "data lives.", hint=f"Use --connection {conns[0]}.")
    manager = da.connections
    actor = actor or manager.actor
    rec = manager.record(connection, workspace)
    target = f"{connection}.{view_name}" if isinstance(view_name, str) else connection

    def audit(outcome: str, **detail) -> None:
        manager.repo.audit(actor, "view.replace" if replace else "view.create", target_type="view",
                           target=target[:200], workspace_id=rec.workspace_id, outcome=outcome,
                           detail={"connection": connection, **detail})

    if not rec.options.get(ALLOW_VIEWS) or not admin_allows_views(manager.settings):
        audit("denied", reason="views not allowed" if not rec.options.get(ALLOW_VIEWS) else "team policy")
        manager.writable(connection, workspace)  # raises Forbidden with the command that allows it
        raise Forbidden(f"'{connection}' does not allow views.")  # pragma: no cover - writable raised
    schema, name = parse_view_name(view_name)
    dialect = manager.dialect(connection, workspace)
    select_sql = PrepSession(da, workspace, federate=False).sql(parsed_flow)
    statements = view_statements(select_sql, dialect, schema, name, replace=replace)
    digest = hashlib.sha256(statements[-1].encode()).hexdigest()[:16]
    try:
        with manager.writable(connection, workspace) as session:
            session.run(statements, drops=[name] if replace else [])
    except DataAskError as exc:
        audit("error", reason=exc.code)
        raise
    except Exception as exc:  # noqa: BLE001 - a driver error becomes one short message
        text = sanitize_error(str(exc))
        audit("error", reason="exists" if "exist" in text.lower() else "database")
        if "already exist" in text.lower():
            raise AlreadyExists(f"'{view_name}' already exists in '{connection}'.",
                                hint="Pass --replace (replace=True) to replace the view.") from None
        raise SourceError(f"'{connection}' refused the view: {text}") from None
    audit("ok", dialect=dialect, sql_sha256=digest)
    qualified = f"{schema}.{name}" if schema else name
    return SavedView(connection, qualified, dialect, replace, statements[-1], time.perf_counter() - started)
