"""contact_stages: the stage each contact entered under each model, as a recorded fact

Contacts scored before this revision have no recorded stage: their next scoring
records the stage it gives, entered then (or the CRM's stage, with the CRM's time).

Revision ID: 0007_contact_stages
Revises: 0006_next_change
Create Date: 2026-12-06 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import UTCDateTime

revision = "0008_contact_stages"
down_revision = "0007_saved_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_stages",
        sa.Column("contact_id", sa.String(200), primary_key=True),
        sa.Column("model_name", sa.String(200), primary_key=True),
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("previous_stage", sa.String(100), nullable=True),
        sa.Column("crm_stage", sa.String(400), nullable=True),
        sa.Column("crm_entered_at", sa.String(400), nullable=True),
    )
    op.create_index("ix_contact_stages_model_stage", "contact_stages", ["model_name", "stage"])


def downgrade() -> None:
    op.drop_index("ix_contact_stages_model_stage", table_name="contact_stages")
    op.drop_table("contact_stages")
