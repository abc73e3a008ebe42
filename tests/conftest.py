"""Shared fixtures: the example models, a real PostgreSQL server, paths."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh PostgreSQL server for this test session."""
    root = Path(tempfile.mkdtemp(prefix="leadscore-pg-"))
    server = PostgresServer(root)
    if not server.available:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed: "
            "the PostgreSQL tests did NOT run. Install Debian's 'postgresql' package."
        )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
