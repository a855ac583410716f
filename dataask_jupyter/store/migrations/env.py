"""Alembic environment: always run with a connection passed in by ``store.database.migrate``."""

from __future__ import annotations

from alembic import context

from dataask_jupyter.store import ask_models, workspace_models  # noqa: F401  (register their tables on Base)
from dataask_jupyter.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
