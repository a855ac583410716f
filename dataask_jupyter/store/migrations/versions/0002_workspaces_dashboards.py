"""Workspace members, folders, dashboards, versions, permissions, datasets, recents.

Revision ID: 0002_workspaces_dashboards
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_workspaces_dashboards"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _ws_fk() -> sa.Column:
    return sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "workspace_members",
        sa.Column("id", sa.Integer, primary_key=True),
        _ws_fk(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.UniqueConstraint("workspace_id", "kind", "name", name="uq_workspace_members"),
    )
    op.create_index("ix_workspace_members_workspace_id", "workspace_members", ["workspace_id"])
    op.create_index("ix_workspace_members_name", "workspace_members", ["kind", "name"])

    op.create_table(
        "folders",
        sa.Column("id", sa.Integer, primary_key=True),
        _ws_fk(),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("folders.id", ondelete="SET NULL"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_folders_workspace_id", "folders", ["workspace_id"])

    op.create_table(
        "dashboards",
        sa.Column("id", sa.Integer, primary_key=True),
        _ws_fk(),
        sa.Column("folder_id", sa.Integer, sa.ForeignKey("folders.id", ondelete="SET NULL"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("widget_count", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    for col in ("workspace_id", "folder_id", "name", "owner"):
        op.create_index(f"ix_dashboards_{col}", "dashboards", [col])

    op.create_table(
        "dashboard_tags",
        sa.Column("dashboard_id", sa.Integer, sa.ForeignKey("dashboards.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
    )
    op.create_index("ix_dashboard_tags_tag", "dashboard_tags", ["tag"])

    op.create_table(
        "dashboard_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dashboard_id", sa.Integer, sa.ForeignKey("dashboards.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("restored_from", sa.Integer, nullable=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.UniqueConstraint("dashboard_id", "version", name="uq_dashboard_versions"),
    )
    op.create_index("ix_dashboard_versions_dashboard_id", "dashboard_versions", ["dashboard_id"])

    op.create_table(
        "dashboard_permissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dashboard_id", sa.Integer, sa.ForeignKey("dashboards.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.UniqueConstraint("dashboard_id", "kind", "name", name="uq_dashboard_permissions"),
    )
    op.create_index("ix_dashboard_permissions_dashboard_id", "dashboard_permissions", ["dashboard_id"])
    op.create_index("ix_dashboard_permissions_name", "dashboard_permissions", ["kind", "name"])

    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True),
        _ws_fk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("query", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_datasets_workspace_name"),
    )
    op.create_index("ix_datasets_workspace_id", "datasets", ["workspace_id"])

    op.create_table(
        "recent_views",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("dashboard_id", sa.Integer, sa.ForeignKey("dashboards.id", ondelete="CASCADE"), nullable=False),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("viewed_at", TS, nullable=False),
        sa.UniqueConstraint("username", "dashboard_id", name="uq_recent_views"),
    )
    op.create_index("ix_recent_views_dashboard_id", "recent_views", ["dashboard_id"])
    op.create_index("ix_recent_views_user_at", "recent_views", ["username", "viewed_at"])


def downgrade() -> None:
    for table in ("recent_views", "datasets", "dashboard_permissions", "dashboard_versions", "dashboard_tags",
                  "dashboards", "folders", "workspace_members"):
        op.drop_table(table)
