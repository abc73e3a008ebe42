"""accounts: companies, their scores, history and triggers; contacts' link columns

Revision ID: 0004_accounts
Revises: 0003_triggers_enrich
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadscore.store.tables import UTCDateTime

revision = "0004_accounts"
down_revision = "0003_triggers_enrich"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("account_ref", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("email_domain", sa.String(length=253), nullable=True))
    op.create_index("ix_contacts_account_ref", "contacts", ["account_ref"])
    op.create_index("ix_contacts_email_domain", "contacts", ["email_domain"])
    _backfill_links()
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain"),
    )
    op.create_table(
        "account_scores",
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=True),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("scored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "model_name"),
    )
    op.create_index(
        "ix_account_scores_model_total", "account_scores", ["model_name", "total", "account_id"]
    )
    op.create_table(
        "account_score_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("old_total", sa.Float(), nullable=True),
        sa.Column("new_total", sa.Float(), nullable=False),
        sa.Column("old_stage", sa.String(length=100), nullable=True),
        sa.Column("new_stage", sa.String(length=100), nullable=True),
        sa.Column("old_grade", sa.String(length=20), nullable=True),
        sa.Column("new_grade", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_account_history_account",
        "account_score_history",
        ["account_id", "model_name", "id"],
    )
    op.create_table(
        "account_trigger_state",
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("armed", sa.Boolean(), nullable=False),
        sa.Column("crossings", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("model_name", "trigger", "account_id"),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("contact_id", existing_type=sa.String(length=200), nullable=True)
        batch.add_column(sa.Column("account_id", sa.String(length=200), nullable=True))
    op.create_index("ix_deliveries_account_id", "deliveries", ["account_id"])


def _backfill_links() -> None:
    """The link columns of the contacts already stored, from their properties."""
    from leadscore.store.links import link_columns

    conn = op.get_bind()
    contacts = sa.table(
        "contacts",
        sa.column("id"),
        sa.column("email"),
        sa.column("properties", sa.JSON),
        sa.column("account_ref"),
        sa.column("email_domain"),
    )
    last = ""
    while True:
        rows = conn.execute(
            sa.select(contacts.c.id, contacts.c.email, contacts.c.properties)
            .where(contacts.c.id > last)
            .order_by(contacts.c.id)
            .limit(1000)
        ).all()
        if not rows:
            return
        changes = [
            {"b_id": r.id, **link_columns(r.properties or {}, r.email)}
            for r in rows
            if any(link_columns(r.properties or {}, r.email).values())
        ]
        if changes:
            conn.execute(
                sa.update(contacts)
                .where(contacts.c.id == sa.bindparam("b_id"))
                .values(
                    account_ref=sa.bindparam("account_ref"),
                    email_domain=sa.bindparam("email_domain"),
                ),
                changes,
            )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_deliveries_account_id", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("account_id")
        batch.alter_column("contact_id", existing_type=sa.String(length=200), nullable=False)
    op.drop_table("account_trigger_state")
    op.drop_index("ix_account_history_account", table_name="account_score_history")
    op.drop_table("account_score_history")
    op.drop_index("ix_account_scores_model_total", table_name="account_scores")
    op.drop_table("account_scores")
    op.drop_table("accounts")
    op.drop_index("ix_contacts_email_domain", table_name="contacts")
    op.drop_index("ix_contacts_account_ref", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("email_domain")
        batch.drop_column("account_ref")
