"""trigger_state: an index by contact

Every rescoring reads the trigger states of its contacts (``contact_id IN (...)``);
the primary key leads with the model and the trigger, so without this index each
read scanned the whole table: a cost that grew with the store, not with the page.

Revision ID: 0010_trigger_state_contact
Revises: 0009_account_rollups
Create Date: 2026-12-06 23:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_trigger_state_contact"
down_revision = "0009_account_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_trigger_state_contact", "trigger_state", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_trigger_state_contact", table_name="trigger_state")
