"""`leadscore score` on the SQL engines: DuckDB by default, the same file as the
in-process reference, --show-sql, PostgreSQL tables, errors that say what to do."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.errors import UsageError

MODEL = Path(__file__).resolve().parents[2] / "examples" / "b2b_saas.yaml"
CONTACTS = """id,country,job_title,employees,email_domain,phone
a,FR,CEO,100,x.com,+33 1
b,us,Étudiant,5,rival.example,
c,,Head of Sales,1e3,,
"""
EVENTS = """contact_id,event_id,type,ts,url,form_id
a,1,page_view,2025-12-20T10:00:00Z,/pricing,
a,2,form_submit,2025-12-21T10:00:00Z,,demo
a,2,form_submit,2025-12-22T10:00:00Z,,demo
c,3,email_click,2025-12-01T10:00:00Z,,
zz,4,page_view,2025-12-01T10:00:00Z,,
"""


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "c.csv").write_text(CONTACTS)
    (tmp_path / "e.csv").write_text(EVENTS)
    return tmp_path


def _score(tmp: Path, *extra: str):
    return CliRunner().invoke(
        app,
        [
            "score",
            "-m",
            str(MODEL),
            "-c",
            str(tmp / "c.csv"),
            "-e",
            str(tmp / "e.csv"),
            "--as-of",
            "2026-01-01",
            *extra,
        ],
    )


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_duckdb_is_the_default_and_equals_inprocess(files):
    first = _score(files, "-o", str(files / "sql.csv"))
    assert first.exit_code == 0, first.output
    assert "on duckdb" in first.output
    second = _score(files, "-o", str(files / "ref.csv"), "--engine", "inprocess", "-q")
    assert second.exit_code == 0, second.output
    sql, ref = _rows(files / "sql.csv"), _rows(files / "ref.csv")
    assert [r["contact_id"] for r in sql] == ["a", "b", "c"]
    for s, r in zip(sql, ref, strict=True):
        assert s.keys() == r.keys()
        for key in s:
            if key in ("fit", "engagement", "total"):
                assert float(s[key]) == pytest.approx(float(r[key]), abs=1e-9)
            else:
                assert s[key] == r[key], key
    by_id = {r["contact_id"]: r for r in sql}
    # b is a competitor and a student: excluded, reasons in model order
    assert by_id["b"]["exclusion_reason"] == "Competitor; Student"
    assert by_id["b"]["total"] == "0.0" and by_id["b"]["stage"] == ""


def test_show_sql_prints_the_query_without_scoring(files):
    result = _score(files, "--show-sql")
    assert result.exit_code == 0, result.output
    assert result.output.lstrip().startswith("WITH")
    assert "REGEXP_MATCHES" in result.output
    spark = _score(files, "--show-sql", "--engine", "spark")
    assert spark.exit_code == 0, spark.output
    assert "UNIX_MICROS" in spark.output and "RLIKE" in spark.output


def test_unknown_engine_says_which_exist(files):
    result = _score(files, "-o", str(files / "x.csv"), "--engine", "oracle")
    assert isinstance(result.exception, UsageError)
    assert "duckdb, inprocess, spark or a PostgreSQL URL" in str(result.exception)


def test_spark_needs_parquet(files):
    result = _score(files, "-o", str(files / "x.csv"), "--engine", "spark")
    assert isinstance(result.exception, UsageError)
    assert "reads Parquet" in str(result.exception)


@pytest.mark.postgres
def test_postgres_tables(files, pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS crm CASCADE; CREATE SCHEMA crm")
        conn.execute(
            "CREATE TABLE crm.people (id text, country text, job_title text, "
            "employees integer, email_domain text, phone text)"
        )
        conn.execute(
            "INSERT INTO crm.people VALUES ('a', 'FR', 'CEO', 100, 'x.com', '+33 1'),"
            " ('c', NULL, 'Head of Sales', 1000, NULL, NULL)"
        )
        conn.execute(
            "CREATE TABLE crm.acts (contact_id text, event_id text, type text, "
            "ts timestamptz, url text, form_id text)"
        )
        conn.execute(
            "INSERT INTO crm.acts VALUES "
            "('a', '1', 'page_view', '2025-12-20T10:00:00Z', '/pricing', NULL),"
            "('a', '2', 'form_submit', '2025-12-21T10:00:00Z', NULL, 'demo')"
        )
    out = files / "pg.csv"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "-m",
            str(MODEL),
            "--engine",
            pg_url,
            "--contacts-table",
            "crm.people",
            "--events-table",
            "crm.acts",
            "--as-of",
            "2026-01-01",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = {r["contact_id"]: r for r in _rows(out)}
    # a: fit 10 (FR) + 15 (CEO) + 15 (100 employees) + 2 + 2 (phone, title) = 44
    assert float(rows["a"]["fit"]) == 44.0 and rows["a"]["grade"] == "B"
    # c: 15 (Head) + 10 (1000 employees) + 2 (title) = 27
    assert float(rows["c"]["fit"]) == 27.0
