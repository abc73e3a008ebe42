"""Reading contacts and events: Parquet read in place, text copied once, every check
still naming the rows at fault; DuckDB's memory bounded by default."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from leadscore.data import io
from leadscore.errors import DataError, UsageError


def _parquet(tmp_path: Path, name: str, sql: str) -> Path:
    path = tmp_path / name
    duckdb.connect().execute(f"COPY ({sql}) TO '{path}' (FORMAT PARQUET)")
    return path


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def files(tmp_path):
    contacts = _parquet(
        tmp_path,
        "contacts.parquet",
        "SELECT * FROM (VALUES ('c1', 'FR', 12), ('c2', 'US', 3000)) t(id, country, employees)",
    )
    events = _parquet(
        tmp_path,
        "events.parquet",
        "SELECT * FROM (VALUES "
        "('c1', 'e1', 'page_view', TIMESTAMPTZ '2026-01-01 10:00:00+00', '/pricing'), "
        "('c1', 'e2', 'page_view', TIMESTAMPTZ '2026-01-02 10:00:00+00', '/'), "
        "('zz', 'e3', 'page_view', TIMESTAMPTZ '2026-01-02 10:00:00+00', '/')) "
        "t(contact_id, event_id, type, ts, url)",
    )
    return contacts, events


def _kind(con, name: str) -> str:
    return con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()[0][0]


def test_parquet_is_read_in_place_as_text_with_its_counts(files):
    contacts, events = files
    inputs = io.load_inputs(contacts, events)
    con = inputs.con
    assert _kind(con, "contacts") == "VIEW" and _kind(con, "events") == "VIEW"
    assert (inputs.n_contacts, inputs.n_events, inputs.orphan_events) == (2, 3, 1)
    assert inputs.orphan_examples == ["zz"]
    assert inputs.properties == ["country", "employees"] and inputs.attributes == ["url"]
    # every property and attribute is text, the time a UTC timestamp
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE contacts)").fetchall())
    assert types == {"id": "VARCHAR", "country": "VARCHAR", "employees": "VARCHAR"}
    query = "SELECT CAST(ts AS VARCHAR), url FROM events WHERE event_id = 'e1'"
    row = con.execute(query).fetchall()[0]
    assert row[0] == "2026-01-01 10:00:00+00" and row[1] == "/pricing"


def test_enrichment_and_text_files_get_tables(tmp_path, files):
    contacts, events = files
    inputs = io.load_inputs(contacts, events, enrich=True)
    assert _kind(inputs.con, "contacts") == "LOCAL TEMPORARY"
    csv = _csv(tmp_path, "c.csv", "id,country\nc1,FR\n")
    ev = _csv(tmp_path, "e.csv", "contact_id,type,ts\nc1,page_view,2026-01-01T00:00:00Z\n")
    inputs = io.load_inputs(csv, ev)
    assert _kind(inputs.con, "contacts") == "LOCAL TEMPORARY"
    assert _kind(inputs.con, "events") == "LOCAL TEMPORARY"
    assert inputs.n_events == 1


def test_loading_twice_on_one_connection_replaces_the_views(files, tmp_path):
    contacts, events = files
    con = io.connect()
    io.load_inputs(contacts, events, con=con)
    csv = _csv(tmp_path, "e.csv", "contact_id,type,ts\nc2,email_click,2026-01-01T00:00:00Z\n")
    inputs = io.load_inputs(contacts, csv, con=con)
    assert inputs.n_events == 1 and _kind(con, "events") == "LOCAL TEMPORARY"
    io.load_inputs(contacts, None, con=con)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]


def test_bad_times_name_the_first_rows_of_the_file(tmp_path):
    contacts = _csv(tmp_path, "c.csv", "id\nc1\n")
    events = _csv(
        tmp_path,
        "e.csv",
        "contact_id,type,ts\nc1,page_view,2026-01-01T00:00:00Z\nc1,page_view,yesterday\n"
        "c1,page_view,\nc1,page_view,2026-01-02\n",
    )
    with pytest.raises(DataError) as err:
        io.load_inputs(contacts, events)
    text = str(err.value)
    assert "2 event time(s) cannot be read" in text
    assert "row 2: 'yesterday'" in text and "row 3: None" in text
    assert err.value.column == "ts" and "ISO 8601" in (err.value.hint or "")


def test_an_event_without_a_type_names_its_row(tmp_path):
    contacts = _csv(tmp_path, "c.csv", "id\nc1\n")
    events = _csv(
        tmp_path,
        "e.csv",
        "contact_id,type,ts\nc1,page_view,2026-01-01T00:00:00Z\nc1, ,2026-01-01T00:00:00Z\n",
    )
    with pytest.raises(DataError) as err:
        io.load_inputs(contacts, events)
    assert err.value.row == 2 and err.value.column == "type"


def test_empty_and_repeated_contact_ids_are_refused(tmp_path):
    empty = _csv(tmp_path, "c.csv", "id,country\nc1,FR\n ,US\n")
    with pytest.raises(DataError, match="1 contact\\(s\\) have an empty id"):
        io.load_inputs(empty)
    twice = _parquet(tmp_path, "c.parquet", "SELECT * FROM (VALUES ('c1'), ('c2'), ('c1')) t(id)")
    with pytest.raises(DataError, match="'c1' \\(2 times\\)"):
        io.load_inputs(twice)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1GB", 10**9),
        ("512MiB", 512 * 2**20),
        (" 2 gib ", 2 * 2**30),
        ("1.5GB", 1_500_000_000),
        ("100000000", 100_000_000),
        ("unlimited", None),
        ("None", None),
    ],
)
def test_memory_limits_are_read_with_their_units(text, size):
    assert io.parse_memory_limit(text) == size


@pytest.mark.parametrize("text", ["", "lots", "1 GB extra", "1XB", "-1GB", "1e9"])
def test_unreadable_memory_limits_say_what_to_write(text):
    with pytest.raises(UsageError, match="512MB, 1GB or 2GiB, or 'unlimited'"):
        io.parse_memory_limit(text)


def test_a_limit_too_small_to_score_is_refused():
    with pytest.raises(UsageError, match="at least 16MB"):
        io.parse_memory_limit("1MB")


def _setting(con, name: str) -> str:
    return con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]


def test_the_default_limit_is_a_quarter_of_memory_within_bounds(monkeypatch):
    monkeypatch.setattr(io, "machine_memory", lambda: 64 * 2**30)
    assert io.default_memory_limit() == io.MEMORY_CAP == 768 * 2**20
    monkeypatch.setattr(io, "machine_memory", lambda: 2 * 2**30)
    assert io.default_memory_limit() == 512 * 2**20
    monkeypatch.setattr(io, "machine_memory", lambda: 256 * 2**20)
    assert io.default_memory_limit() == io.MEMORY_FLOOR
    con = io.connect()
    assert _setting(con, "memory_limit") in ("128.0 MiB", "128 MiB", "134.2 MB")


def test_connections_spill_into_a_directory_of_their_own(tmp_path):
    con = io.connect(memory_limit="unlimited")
    spill = _setting(con, "temp_directory")
    assert f"leadscore-spill-{os.getpid()}" in spill
    assert Path(spill).parent == Path(io.tempfile.gettempdir())
    mine = io.connect(memory_limit="64MB", temp_directory=str(tmp_path))
    assert _setting(mine, "temp_directory") == str(tmp_path)
