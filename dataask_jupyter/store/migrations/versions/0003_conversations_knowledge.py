"""Conversations of ``%%ask`` with their turns, and what a workspace teaches the engines.

Revision ID: 0003_conversations_knowledge
Revises: 0002_workspaces_dashboards

No row data and no secrets: a turn keeps the question, its SQL, the engine, where it ran,
the row count, timings and a chart template (a Vega-Lite spec without its data values).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_conversations_knowledge"
down_revision = "0002_workspaces_dashboards"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _ws_fk() -> sa.Column:
    return sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "ask_conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        _ws_fk(),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_ask_conversations_ws_user", "ask_conversations", ["workspace_id", "username", "updated_at"])

    op.create_table(
        "ask_turns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("ask_conversations.id", ondelete="CASCADE"),
                  nullable=False),
        _ws_fk(),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("sql", sa.Text, nullable=False),
        sa.Column("engine", sa.String(200), nullable=False),
        sa.Column("federated", sa.Boolean, nullable=False),
        sa.Column("connections", sa.JSON, nullable=False),
        sa.Column("intent", sa.String(20), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=True),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column("chart", sa.JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_ask_turns_conversation_id", "ask_turns", ["conversation_id"])
    op.create_index("ix_ask_turns_ws_created", "ask_turns", ["workspace_id", "created_at"])

    op.create_table(
        "knowledge_instructions",
        sa.Column("id", sa.Integer, primary_key=True),
        _ws_fk(),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_knowledge_instructions_workspace_id", "knowledge_instructions", ["workspace_id"])

    op.create_table(
        "knowledge_sql_pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        _ws_fk(),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("question_key", sa.String(400), nullable=False),
        sa.Column("sql", sa.Text, nullable=False),
        sa.Column("connection", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("workspace_id", "question_key", name="uq_knowledge_sql_pairs_question"),
    )
    op.create_index("ix_knowledge_sql_pairs_workspace_id", "knowledge_sql_pairs", ["workspace_id"])


def downgrade() -> None:
    for table in ("knowledge_sql_pairs", "knowledge_instructions", "ask_turns", "ask_conversations"):
        op.drop_table(table)
