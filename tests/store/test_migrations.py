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
