"""Fixtures for the SQL engine tests: a database of our own in the session's
PostgreSQL server, and one small local Spark session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def pg_url(postgres_url: str) -> str:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS leadscore_engine_sql")
        conn.execute("CREATE DATABASE leadscore_engine_sql")
    return postgres_url.rsplit("/", 1)[0] + "/leadscore_engine_sql"


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark")
    from leadscore.engine.sql.spark import session

    s = session("local[1]", app_name="leadscore-tests", shuffle_partitions=1)
    yield s
    s.stop()
