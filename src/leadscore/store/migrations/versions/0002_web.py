"""web app: users, sessions, settings

Revision ID: 0002_web
Revises: 0001
Create Date: 2026-11-23 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Registers the web tables on the store's metadata, so the schema check sees them.
import leadscore.store.web_tables  # noqa: F401
from leadscore.store.tables import UTCDateTime

INDEXES = {
    "ix_web_contacts_country": "(properties ->> 'country')",
    "ix_web_contacts_source": "(properties ->> 'source')",
    "ix_web_contacts_last_name": "lower(properties ->> 'last_name')",
    "ix_web_contacts_company": "lower(properties ->> 'company')",
}
revision = "0002_web"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "web_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )

    # Expression indexes for the leads list's filters and search (PostgreSQL and SQLite).
    for name, expr in INDEXES.items():
        op.create_index(name, "contacts", [sa.text(expr)], unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="contacts")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_settings")
    op.drop_table("web_sessions")
    op.drop_table("web_users")
