"""score_batch's runs: what each engine writes."""

from __future__ import annotations

import pytest

from leadscore.data.io import load_inputs
from leadscore.engine.batch import score_batch
from leadscore.errors import UsageError
from leadscore.model import load_model

MODEL = """
name: tiny
groups:
  fit:
    rules:
      - name: french
        when: {country: FR}
        points: 10
"""


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "contacts.csv").write_text("id,country\nc1,FR\n")
    (tmp_path / "events.csv").write_text("contact_id,type,ts\nc1,visit,2026-01-01T00:00:00Z\n")
    return load_inputs(tmp_path / "contacts.csv", tmp_path / "events.csv")


def test_only_duckdb_writes_the_accounts_without_the_contacts(inputs, tmp_path):
    # Without a contacts file the in-process run says what it needs (it used to fail
    # deep inside with a TypeError), and writes nothing.
    run = score_batch([load_model(MODEL)], inputs, engine="inprocess", as_of="2026-02-01")
    with run, pytest.raises(UsageError, match="give a file"):
        run.write(None, tmp_path / "accounts.csv")
    assert not (tmp_path / "accounts.csv").exists()
    with score_batch([load_model(MODEL)], inputs, engine="duckdb", as_of="2026-02-01") as run:
        run.write(None)  # nothing asked for, nothing written
        run.write(tmp_path / "scores.csv")
    assert (tmp_path / "scores.csv").read_text().splitlines()[1].startswith("c1,tiny,10")
