"""The service store's tables (SQLAlchemy Core), one statement of the schema.

The Alembic migrations in ``migrations/versions`` create exactly these tables;
a test checks that the migrated database matches this metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps stored in UTC and read back timezone-aware on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TS = UTCDateTime()

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("email", sa.String(320), nullable=True, unique=True),
    sa.Column("properties", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # what links the contact to its account (engine/linking.py), kept with each write:
    # the explicit ``account_id`` property (trimmed), else the e-mail's domain
    sa.Column("account_ref", sa.String(200), nullable=True, index=True),
    sa.Column("email_domain", sa.String(253), nullable=True, index=True),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    # the domain as contacts' e-mail domains are compared with it (never free-mail)
    sa.Column("domain", sa.String(253), nullable=True, unique=True),
    sa.Column("properties", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

account_scores = sa.Table(
    "account_scores",
    metadata,
    sa.Column("account_id", sa.String(200), primary_key=True),
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("grade", sa.String(20), nullable=True),
    sa.Column("stage", sa.String(100), nullable=True),
    sa.Column("excluded", sa.Boolean, nullable=False),
    sa.Column("groups", sa.JSON, nullable=False),
    sa.Column("breakdown", sa.JSON, nullable=False),  # with each roll-up's contributions
    sa.Column("contacts", sa.Integer, nullable=False),
    sa.Column("scored_at", TS, nullable=False),
    sa.Index("ix_account_scores_model_total", "model_name", "total", "account_id"),
)

account_score_history = sa.Table(
    "account_score_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(200), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("cause", sa.String(40), nullable=False),
    sa.Column("old_total", sa.Float, nullable=True),
    sa.Column("new_total", sa.Float, nullable=False),
    sa.Column("old_stage", sa.String(100), nullable=True),
    sa.Column("new_stage", sa.String(100), nullable=True),
    sa.Column("old_grade", sa.String(20), nullable=True),
    sa.Column("new_grade", sa.String(20), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_account_history_account", "account_id", "model_name", "id"),
)

account_trigger_state = sa.Table(
    "account_trigger_state",
    metadata,
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("trigger", sa.String(200), primary_key=True),
    sa.Column("account_id", sa.String(200), primary_key=True),
    sa.Column("armed", sa.Boolean, nullable=False),
    sa.Column("crossings", sa.Integer, nullable=False),
    sa.Column("changed_at", TS, nullable=False),
    sa.Column("since", TS, nullable=True),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contact_id", sa.String(200), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("ts", TS, nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Index("ix_events_contact_ts", "contact_id", "ts"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("yaml", sa.Text, nullable=False),
    # draft | published | archived | unpublished
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),  # service options, e.g. hysteresis
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("published_at", TS, nullable=True),
    sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("contact_id", sa.String(200), primary_key=True),
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("grade", sa.String(20), nullable=True),
    sa.Column("stage", sa.String(100), nullable=True),
    sa.Column("excluded", sa.Boolean, nullable=False),
    sa.Column("groups", sa.JSON, nullable=False),
    sa.Column("breakdown", sa.JSON, nullable=False),
    sa.Column("adjustment", sa.Float, nullable=False),
    sa.Column("scored_at", TS, nullable=False),
    # the first instant the score may show something else by time alone (null: never);
    # the time sweep rescores the contacts whose instant has come (service/horizons.py)
    sa.Column("next_change", TS, nullable=True),
    sa.Index("ix_scores_model_total", "model_name", "total", "contact_id"),
    sa.Index("ix_scores_next_change", "next_change", "contact_id"),
    sa.Index("ix_scores_model_stage", "model_name", "stage"),
)

score_history = sa.Table(
    "score_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contact_id", sa.String(200), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("cause", sa.String(40), nullable=False),
    sa.Column("old_total", sa.Float, nullable=True),
    sa.Column("new_total", sa.Float, nullable=False),
    sa.Column("old_stage", sa.String(100), nullable=True),
    sa.Column("new_stage", sa.String(100), nullable=True),
    sa.Column("old_grade", sa.String(20), nullable=True),
    sa.Column("new_grade", sa.String(20), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_history_contact", "contact_id", "model_name", "id"),
)

contact_stages = sa.Table(
    "contact_stages",
    metadata,
    # the stage each contact entered under each model, as a fact (service/stages.py):
    # it stays until a threshold of the model moves the contact on or the CRM changes it
    sa.Column("contact_id", sa.String(200), primary_key=True),
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("stage", sa.String(100), nullable=False),
    sa.Column("entered_at", TS, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),  # model | crm
    sa.Column("version", sa.Integer, nullable=True),  # the model version that moved it
    sa.Column("previous_stage", sa.String(100), nullable=True),
    # the CRM's stage and entered-at properties as they were when this was recorded:
    # a later change to either is the CRM moving the contact
    sa.Column("crm_stage", sa.String(400), nullable=True),
    sa.Column("crm_entered_at", sa.String(400), nullable=True),
    sa.Index("ix_contact_stages_model_stage", "model_name", "stage"),
)

adjustments = sa.Table(
    "adjustments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contact_id", sa.String(200), nullable=False, index=True),
    sa.Column("model_name", sa.String(200), nullable=True),  # null: every model
    sa.Column("points", sa.Float, nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

trigger_state = sa.Table(
    "trigger_state",
    metadata,
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("trigger", sa.String(200), primary_key=True),
    sa.Column("contact_id", sa.String(200), primary_key=True),
    sa.Column("armed", sa.Boolean, nullable=False),
    sa.Column("crossings", sa.Integer, nullable=False),
    sa.Column("changed_at", TS, nullable=False),
    # 'holds' triggers: since when the condition has held without a break (null: it does not)
    sa.Column("since", TS, nullable=True),
    # every rescoring reads its contacts' states: the key leads with model and trigger
    sa.Index("ix_trigger_state_contact", "contact_id"),
)

enrich_pending = sa.Table(
    "enrich_pending",
    metadata,
    sa.Column("contact_id", sa.String(200), primary_key=True),
    sa.Column("enricher", sa.String(200), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("retry_at", TS, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(400), nullable=False, unique=True),  # exactly-once key
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("trigger", sa.String(200), nullable=False),
    sa.Column("contact_id", sa.String(200), nullable=True, index=True),  # null: an account's
    sa.Column("account_id", sa.String(200), nullable=True, index=True),
    sa.Column("crossing", sa.Integer, nullable=False),
    sa.Column("action_index", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("target", sa.String(2000), nullable=False),
    sa.Column("secret_env", sa.String(200), nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | delivered | dead | dropped
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("last_error", sa.String(2000), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("delivered_at", TS, nullable=True),
    sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prefix", sa.String(40), nullable=False, unique=True),
    sa.Column("hash", sa.String(128), nullable=False),
    sa.Column("scope", sa.String(20), nullable=False),  # read | write | admin | track
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("revoked_at", TS, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(400), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
)

# What each contact gives its account's roll-ups under a model (engine.accounts
# ``member_entries``): one row per entry, so an event changes a few rows, and the
# best values of ``max``/``top`` roll-ups are an index range, not a scan.
account_rollup_entries = sa.Table(
    "account_rollup_entries",
    metadata,
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("account_id", sa.String(200), primary_key=True),
    sa.Column("entry", sa.String(300), primary_key=True),  # '*', '<i>' or '<i>/<role>'
    sa.Column("contact_id", sa.String(200), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_rollup_entries_best", "model_name", "account_id", "entry", "value", "contact_id"),
    sa.Index("ix_rollup_entries_contact", "model_name", "contact_id"),
)

# Each account's roll-up figures under a model version, kept with the entries: per
# entry key, how many contacts and the exact sum of their values (an integer count of
# 2**-1074, so adding and removing a contact never rounds).
account_rollup_state = sa.Table(
    "account_rollup_state",
    metadata,
    sa.Column("model_name", sa.String(200), primary_key=True),
    sa.Column("account_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),  # entry → [count, exact sum as text]
)
