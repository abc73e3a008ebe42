"""web app: sign-in back-off counters per account and per client address

Revision ID: 0005_login_throttle
Revises: 0004_accounts
Create Date: 2026-12-03 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import UTCDateTime

revision = "0005_login_throttle"
down_revision = "0004_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "ix_web_login_throttle_last_failure_at", "web_login_throttle", ["last_failure_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_web_login_throttle_last_failure_at", table_name="web_login_throttle")
    op.drop_table("web_login_throttle")
