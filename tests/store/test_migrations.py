"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC as UTC_

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from leadscore.errors import UsageError
from leadscore.store import Store, upgrade
from leadscore.store.db import head_revision, make_engine, normalise_url
from leadscore.store.tables import metadata

from ..service.helpers import postgres_database


def _diff(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    return diff


def test_sqlite_schema_matches_metadata(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert upgrade(url) == head_revision()
    assert _diff(url) == []
    assert upgrade(url) == head_revision()  # a second run is a no-op


@pytest.mark.postgres
def test_postgres_schema_matches_metadata(postgres_url):
    url = postgres_database(postgres_url, "migr")
    assert upgrade(url) == head_revision()
    assert _diff(normalise_url(url)) == []


def test_store_refuses_an_old_schema_when_not_migrating(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    sa.create_engine(url).connect().close()
    with pytest.raises(UsageError, match="leadscore db upgrade"):
        Store(url, migrate=False)


def test_timestamps_come_back_in_utc(tmp_path):
    from datetime import datetime, timedelta, timezone

    from leadscore.store import tables as T

    store = Store(str(tmp_path / "t.db"))
    paris = timezone(timedelta(hours=1))
    with store.write() as conn:
        conn.execute(
            sa.insert(T.contacts).values(
                id="c",
                email=None,
                properties={},
                created_at=datetime(2026, 1, 1, 12, tzinfo=paris),
                updated_at=datetime(2026, 1, 1, 11),
            )
        )
    with store.read() as conn:
        row = conn.execute(sa.select(T.contacts)).one()
    assert row.created_at == datetime(2026, 1, 1, 11, tzinfo=UTC_)
    assert row.updated_at == row.created_at
    store.dispose()


def test_bad_url_is_a_usage_error():
    with pytest.raises(UsageError, match="unsupported database URL"):
        normalise_url("mysql://x")


def test_scores_stored_before_next_change_are_due_at_the_first_sweep(tmp_path):
    """Upgrading a store whose scores predate ``next_change``: each score is due at its
    own scoring time, so the first sweep rescores it and sets its next instant."""
    from datetime import datetime

    from alembic import command

    from leadscore.store.db import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005_login_throttle")
    scored = "2026-03-01 12:00:00.000000"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO scores (contact_id, model_name, version, total, grade, stage,"
                " excluded, groups, breakdown, adjustment, scored_at) VALUES"
                " ('c', 'm', 1, 10, NULL, NULL, 0, '{}', '[]', 0, :at)"
            ),
            {"at": scored},
        )
    engine.dispose()
    assert upgrade(url) == head_revision()
    store = Store(url, migrate=False)
    from leadscore.store import tables as T

    with store.read() as conn:
        row = conn.execute(sa.select(T.scores)).one()
    store.dispose()
    assert row.next_change == row.scored_at == datetime(2026, 3, 1, 12, tzinfo=UTC_)
