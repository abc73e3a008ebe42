"""The web app's tables (users, sign-in sessions, settings, sign-in back-off, saved
views of the leads list) and its indexes on the contacts table.

The store owns them as it owns every table: they live on the store's metadata
(so the schema check sees them) and are created by the migrations ``0002_web``,
``0005_login_throttle`` and ``0007_saved_views``. The expression indexes on contact properties back
the web app's leads list filters and search (``leadscore.web.queries``): the
same expression text works on PostgreSQL and on SQLite (3.38 or later).
"""

from __future__ import annotations

import sqlalchemy as sa

from .tables import TS, contacts, metadata

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

#: One sign-in counter per sign-in name or client address (see ``leadscore.web.throttle``).
login_throttle = sa.Table(
    "web_login_throttle",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # SHA-256 of "kind:e-mail or address"
    sa.Column("kind", sa.String(10), nullable=False),  # account | address
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", TS, nullable=False, index=True),
    sa.Column("locked_until", TS, nullable=True),
)

#: A named leads list: the list's query string (filters, sort, model) as saved.
saved_views = sa.Table(
    "web_saved_views",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("query", sa.JSON, nullable=False),  # {"stage": "MQL", "sort": "company", ...}
    sa.Column("created_by", sa.Integer, nullable=False),  # web_users.id
    sa.Column("created_at", TS, nullable=False),
)


def prop(name: str) -> sa.ColumnElement:
    """``properties ->> 'name'``: a contact property as text, as the indexes spell it."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain property name: {name!r}")
    return contacts.c.properties.op("->>")(sa.literal_column(f"'{name}'"))


#: (index name, expression): the contact properties the leads list filters and searches on.
PROPERTY_INDEXES = (
    ("ix_web_contacts_country", prop("country")),
    ("ix_web_contacts_source", prop("source")),
    ("ix_web_contacts_last_name", sa.func.lower(prop("last_name"))),
    ("ix_web_contacts_company", sa.func.lower(prop("company"))),
)
for _name, _expr in PROPERTY_INDEXES:
    sa.Index(_name, _expr)
