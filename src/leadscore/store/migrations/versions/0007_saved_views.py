"""web app: saved views of the leads list

Revision ID: 0007_saved_views
Revises: 0006_next_change
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import UTCDateTime

revision = "0007_saved_views"
down_revision = "0006_next_change"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_saved_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("web_saved_views")
