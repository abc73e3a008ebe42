"""scores: the instant each score may next change by time alone, for the time sweep

Scores stored before this revision get their own scoring time: the first sweep after
the upgrade rescores them all once (as every sweep did before) and sets it.

Revision ID: 0006_next_change
Revises: 0005_login_throttle
Create Date: 2026-12-04 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import UTCDateTime

revision = "0006_next_change"
down_revision = "0005_login_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("next_change", UTCDateTime(), nullable=True))
    op.execute("UPDATE scores SET next_change = scored_at")
    op.create_index("ix_scores_next_change", "scores", ["next_change", "contact_id"])


def downgrade() -> None:
    op.drop_index("ix_scores_next_change", table_name="scores")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("next_change")
