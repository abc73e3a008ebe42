"""Connecting to the store and migrating its schema.

SQLite (a file, the default) and PostgreSQL are both supported. On SQLite the
store runs in WAL mode and serialises write transactions inside the process, and
each write transaction begins IMMEDIATE (it takes the database's write lock
before its first read, so a writer in another process cannot slip in between
what it read and what it writes); on PostgreSQL concurrent writers are
serialised per contact by row locks.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..errors import UsageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "leadscore_write"  # execution option: this connection's transaction writes
RETRY_STATES = frozenset({"40P01", "40001", "23505"})  # deadlock, serialisation, unique key
T_ = TypeVar("T_")


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``sqlite:///file.db`` (or a bare file path)."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite:", "postgresql+psycopg:")):
        return url
    raise UsageError(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file.db or "
        "postgresql://user@host:port/dbname"
    )


def make_engine(url: str) -> sa.Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            # The driver's own implicit BEGIN is switched off: SQLAlchemy's "begin"
            # below emits it, IMMEDIATE for writes.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:  # pragma: no cover - trivial
            immediate = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine_or_url: sa.Engine | str) -> str:
    """Apply every pending migration; returns the schema revision now in place."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return current_revision(engine)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


class Store:
    """An engine plus the write discipline of its database."""

    def __init__(self, url: str, *, migrate: bool = True):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None
        if migrate:
            upgrade(self.engine)
        elif current_revision(self.engine) != head_revision():
            raise UsageError(
                f"the database at {url!r} is not at the current schema: run "
                "`leadscore db upgrade --database URL` first"
            )

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction: committed on success, rolled back on error."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with (
            self._write_lock,
            self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def transaction(self, work: Callable[[sa.Connection], T_], *, attempts: int = 4) -> T_:
        """Run ``work(conn)`` in a write transaction, again from the start when
        PostgreSQL aborts it for a deadlock, a serialisation failure or a unique
        key taken by a concurrent transaction (the race of two first inserts)."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None)
                if state not in RETRY_STATES or attempt == attempts:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
