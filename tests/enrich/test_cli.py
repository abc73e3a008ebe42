"""``leadscore enrich`` and ``leadscore next-questions`` as a user runs them."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ..conftest import EXAMPLES


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys, monkeypatch):
    """The ``leadscore`` entry point in this process (one start-up for all tests)."""
    from leadscore.cli import common, main

    monkeypatch.setattr(common.console, "width", 200)

    def invoke(*args: str) -> Done:
        monkeypatch.setattr(sys, "argv", ["leadscore", *args])
        capsys.readouterr()
        code = 0
        try:
            main.run()
        except SystemExit as exc:
            code = exc.code or 0
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return invoke


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "id,email,phone,country,job_title,ip\n"
        "c1,jean.dupont@airbus.com,01 42 68 53 00,France,Directeur commercial,90.84.0.1\n"
        "c2,bob@gmail.com,+1 415 555 2671,,VP Sales,\n"
        "c3,not-an-email,abc,Atlantis,,999.1.1.1\n"
        "c4,maria@gmail.com,612 34 56 78,Espagne,Jefe de Ventas,\n"
    )
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_enrich_writes_the_file_and_a_summary(run, contacts, tmp_path, suffix):
    out = tmp_path / f"enriched{suffix}"
    done = run("enrich", "--contacts", str(contacts), "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "enriched 4 contacts" in done.stdout
    assert "valid e-mails" in done.stdout and "3 of 4" in done.stdout
    assert "free e-mails" in done.stdout and "2 of 3" in done.stdout
    assert "phone country: ES 1" in done.stdout
    reader = {".parquet": "read_parquet", ".jsonl": "read_json", ".csv": "read_csv"}[suffix]
    rows = duckdb.sql(
        f"SELECT id, email_type, country, seniority FROM {reader}('{out}') ORDER BY id"
    ).fetchall()
    assert rows == [
        ("c1", "business", "FR", "director"),
        ("c2", "free", "US", "vp"),
        ("c3", "invalid", "Atlantis", None),
        ("c4", "free", "ES", "manager"),
    ]


def test_enrich_reads_parquet_contacts(run, contacts, tmp_path):
    """A Parquet file is read into a table of its own, which enrichment fills in place."""
    source = tmp_path / "contacts.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{contacts}', all_varchar=true)) TO '{source}'")
    out = tmp_path / "enriched.parquet"
    done = run("enrich", "--contacts", str(source), "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    rows = duckdb.sql(f"SELECT id, email_type FROM '{out}' ORDER BY id").fetchall()
    assert rows == [("c1", "business"), ("c2", "free"), ("c3", "invalid"), ("c4", "free")]


def test_enrich_json_summary(run, contacts, tmp_path):
    done = run("enrich", "-c", str(contacts), "-o", str(tmp_path / "o.csv"), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["counts"]["valid e-mails"] == 3
    assert summary["breakdowns"]["e-mail type"] == {"free": 2, "business": 1, "invalid": 1}
    assert "seniority" in summary["columns_added"]


def test_enrich_refuses_bad_output(run, contacts, tmp_path):
    done = run("enrich", "-c", str(contacts), "-o", str(tmp_path / "o.xlsx"))
    assert done.returncode == 2 and "Error:" in done.stderr and ".xlsx" in done.stderr
    done = run("enrich", "-c", str(contacts), "-o", str(contacts))
    assert done.returncode == 2 and "is the input file" in done.stderr


def test_next_questions(run, contacts, tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("contact_id,type,ts,url\nc2,page_view,2026-02-27T10:00:00Z,/pricing\n")
    args = ["next-questions", "-m", str(EXAMPLES / "b2b_saas.yaml"), "-c", str(contacts),
            "-e", str(events), "--id", "c2", "--fields", "employees,industry,job_title,budget",
            "--n", "2", "--as-of", "2026-03-01"]  # fmt: skip
    done = run(*args, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["known"] == ["job_title"]
    assert [q["field"] for q in result["questions"]] == ["employees", "industry"]
    assert result["questions"][0]["highest"]["value"] == 50
    table = run(*args)
    assert table.returncode == 0, table.stderr
    assert "employees" in table.stdout and "already known: job_title" in table.stdout


def test_next_questions_unknown_contact(run, contacts):
    done = run("next-questions", "-m", str(EXAMPLES / "b2b_saas.yaml"), "-c", str(contacts),
               "--id", "c9", "--fields", "employees")  # fmt: skip
    assert done.returncode == 1
    assert "no contact with id 'c9'" in done.stderr
