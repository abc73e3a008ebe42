"""time-based triggers and enrichment retries

Revision ID: 0003_triggers_enrich
Revises: 0002_web
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import UTCDateTime

revision = "0003_triggers_enrich"
down_revision = "0002_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trigger_state") as batch:
        batch.add_column(sa.Column("since", UTCDateTime(), nullable=True))
    op.create_table(
        "enrich_pending",
        sa.Column("contact_id", sa.String(length=200), nullable=False),
        sa.Column("enricher", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("retry_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "enricher"),
    )
    op.create_index("ix_enrich_pending_retry_at", "enrich_pending", ["retry_at"])


def downgrade() -> None:
    op.drop_index("ix_enrich_pending_retry_at", table_name="enrich_pending")
    op.drop_table("enrich_pending")
    with op.batch_alter_table("trigger_state") as batch:
        batch.drop_column("since")
