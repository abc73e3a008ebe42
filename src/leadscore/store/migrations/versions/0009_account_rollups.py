"""account roll-up entries and figures: account scores kept up to date per contact

Accounts scored before this revision have no figures yet: the first write to each
rescores it from all its contacts once (as every write did before) and stores them.

Revision ID: 0009_account_rollups
Revises: 0006_next_change
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_account_rollups"
down_revision = "0008_contact_stages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_rollup_entries",
        sa.Column("model_name", sa.String(200), primary_key=True),
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("entry", sa.String(300), primary_key=True),
        sa.Column("contact_id", sa.String(200), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_rollup_entries_best",
        "account_rollup_entries",
        ["model_name", "account_id", "entry", "value", "contact_id"],
    )
    op.create_index(
        "ix_rollup_entries_contact", "account_rollup_entries", ["model_name", "contact_id"]
    )
    op.create_table(
        "account_rollup_state",
        sa.Column("model_name", sa.String(200), primary_key=True),
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_rollup_state")
    op.drop_index("ix_rollup_entries_contact", table_name="account_rollup_entries")
    op.drop_index("ix_rollup_entries_best", table_name="account_rollup_entries")
    op.drop_table("account_rollup_entries")
