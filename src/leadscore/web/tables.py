"""The web app's tables: user accounts, sign-in sessions and a few settings.

They live on the store's metadata (so the schema check sees them) and are
created by the migration ``0002_web``.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..store.tables import TS, metadata

users = sa.Table(
    "web_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),  # viewer | editor | admin
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("disabled_at", TS, nullable=True),
)

sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie's token
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)

settings = sa.Table(
    "web_settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)
