"""The commands as a user runs them: exit codes, messages, files written."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import EXAMPLES

MODEL = str(EXAMPLES / "b2b_saas.yaml")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leadscore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "id,email_type,country,job_title,employees,phone,company\n"
        "c1,business,FR,VP Sales,120,+33 1 23,Acme\n"
        "c2,free,US,Student,5,,\n"
        "c3,business,DE,Engineer,3000,,Big\n"
    )
    events = tmp_path / "events.csv"
    events.write_text(
        "contact_id,event_id,type,ts,url,form_id\n"
        "c1,e1,page_view,2026-01-01T10:00:00Z,/pricing,\n"
        "c1,e2,form_submit,2025-12-20,,demo\n"
        "c1,e2,form_submit,2025-12-20,,demo\n"
        "c9,e3,page_view,2026-01-01,/x,\n"
    )
    return {"contacts": contacts, "events": events, "dir": tmp_path}


def test_validate_ok_prints_summary():
    out = run("validate", MODEL)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok b2b-saas")
    assert "Demo request" in out.stdout and "MQL when total ≥ 50" in out.stdout


def test_validate_errors_exit_1_with_locations(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ngroups:\n  fit:\n    rules:\n      - name: a\n"
        "        when: {country: {inn: [FR]}}\n        pionts: 3\n"
    )
    out = run("validate", str(bad))
    assert out.returncode == 1
    assert f"{bad}:6:" in out.stderr and "unknown operator 'inn'" in out.stderr
    assert f"{bad}:7:9" in out.stderr and "did you mean 'points'?" in out.stderr
    as_json = run("validate", "--json", str(bad))
    assert as_json.returncode == 1
    problems = json.loads(as_json.stdout)["problems"]
    assert [p["line"] for p in problems] == [6, 7]


def test_score_writes_rows_and_reports_orphans(files):
    out_path = files["dir"] / "scores.csv"
    out = run(
        "score",
        "-m",
        MODEL,
        "-c",
        str(files["contacts"]),
        "-e",
        str(files["events"]),
        "--as-of",
        "2026-01-02",
        "-o",
        str(out_path),
    )
    assert out.returncode == 0, out.stderr
    assert "1 event(s) belong to no contact" in out.stdout and "'c9'" in out.stdout
    rows = {r["contact_id"]: r for r in csv.DictReader(out_path.open())}
    assert set(rows) == {"c1", "c2", "c3"}
    assert rows["c2"]["excluded"] == "true" and rows["c2"]["exclusion_reason"] == "Student"
    assert rows["c1"]["stage"] == "SQL" and rows["c1"]["grade"] == "A"
    # c1's fit by hand: business 10 + FR 10 + VP 15 + size 15 + 3 filled × 2 = 56
    assert float(rows["c1"]["fit"]) == 56


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_score_reads_and_writes_other_formats(files, suffix):
    import duckdb

    con = duckdb.connect()
    for name in ("contacts", "events"):
        target = files["dir"] / f"{name}{suffix}"
        fmt = "PARQUET" if suffix == ".parquet" else "JSON"
        con.execute(
            f"COPY (SELECT * FROM read_csv('{files[name]}', all_varchar=true)) "
            f"TO '{target}' (FORMAT {fmt})"
        )
    out_path = files["dir"] / f"scores{suffix}"
    out = run(
        "score",
        "-m",
        MODEL,
        "-c",
        str(files["dir"] / f"contacts{suffix}"),
        "-e",
        str(files["dir"] / f"events{suffix}"),
        "--as-of",
        "2026-01-02",
        "-o",
        str(out_path),
        "-q",
    )
    assert out.returncode == 0, out.stderr
    reader = "read_parquet" if suffix == ".parquet" else "read_json"
    assert con.execute(f"SELECT count(*) FROM {reader}('{out_path}')").fetchone()[0] == 3


def test_score_bad_inputs(files):
    d = files["dir"]
    no_id = d / "noid.csv"
    no_id.write_text("name,country\nA,FR\n")
    out = run("score", "-m", MODEL, "-c", str(no_id), "-o", str(d / "s.csv"))
    assert out.returncode == 1 and "no contact id column" in out.stderr
    assert "--id-column" in out.stderr
    bad_ts = d / "badts.csv"
    bad_ts.write_text("contact_id,type,ts\nc1,page_view,2026-01-01\nc1,page_view,yesterday\n")
    out = run(
        "score",
        "-m",
        MODEL,
        "-c",
        str(files["contacts"]),
        "-e",
        str(bad_ts),
        "-o",
        str(d / "s.csv"),
    )
    assert out.returncode == 1
    assert "row 2: 'yesterday'" in out.stderr and "ISO 8601" in out.stderr
    out = run("score", "-m", MODEL, "-c", str(files["contacts"]), "-o", str(d / "s.xlsx"))
    assert out.returncode == 2 and "use .csv, .parquet or .jsonl" in out.stderr
    out = run("score", "-m", MODEL, "-c", str(d / "missing.csv"), "-o", str(d / "s.csv"))
    assert out.returncode == 2 and "does not exist" in out.stderr
    out = run(
        "score",
        "-m",
        MODEL,
        "-c",
        str(files["contacts"]),
        "-o",
        str(d / "s.csv"),
        "--as-of",
        "tomorrow",
    )
    assert out.returncode == 2 and "--as-of 'tomorrow' is not a time" in out.stderr
    assert not (d / "s.csv").exists()


def test_explain_table_and_json(files):
    args = [
        "explain",
        "-m",
        MODEL,
        "-c",
        str(files["contacts"]),
        "-e",
        str(files["events"]),
        "--as-of",
        "2026-01-02",
        "--id",
        "c1",
    ]
    out = run(*args)
    assert out.returncode == 0, out.stderr
    assert "Demo request" in out.stdout and "stage: SQL" in out.stdout
    data = json.loads(run(*args, "--json").stdout)
    demo = next(h for h in data["breakdown"] if h["rule"] == "Demo request")
    assert demo["matched"] == 1 and demo["points"] == 30  # delivered twice, counted once
    missing = run("explain", "-m", MODEL, "-c", str(files["contacts"]), "--id", "c4")
    assert missing.returncode == 1 and "no contact with id 'c4'" in missing.stderr


def test_debug_reraises(tmp_path):
    out = run("--debug", "validate", str(tmp_path / "nope.yaml"))
    assert out.returncode == 1 and "Traceback" in out.stderr


def test_text_with_brackets_is_printed_not_read_as_markup(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text(
        "name: m\ngroups:\n  fit:\n    rules:\n"
        "      - {name: '[/x] rule', when: {url: [/product, /features]}, points: 1}\n"
    )
    out = run("validate", str(model))
    assert out.returncode == 0, out.stderr
    assert "[/x] rule" in out.stdout and "url in [/product, /features]" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ngroups:\n  fit:\n    rules:\n      - {name: a, when: {c: []}, points: 1}\n"
    )
    out = run("validate", str(bad))
    assert out.returncode == 1 and "write e.g. [FR, BE]" in out.stderr


def test_demo_batch_part_ranks_sample_contacts(tmp_path):
    out = run("demo", "--no-serve", "--contacts", "300", "--dir", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    assert "Top 15 of 300" in out.stdout and "why is the top lead on top?" in out.stdout
    rows = list(csv.DictReader((tmp_path / "demo" / "scores.csv").open()))
    assert len(rows) == 300
    assert rows == sorted(rows, key=lambda r: r["contact_id"])  # one row per contact, by id


def test_score_enrich_adds_the_properties_the_model_reads(tmp_path):
    contacts = tmp_path / "c.csv"
    contacts.write_text("id,email,country\nc1,ann@rival.example,FR\nc2,bob@gmail.com,FR\n")
    plain, enriched = tmp_path / "plain.csv", tmp_path / "enriched.csv"
    base = ["score", "-m", MODEL, "-c", str(contacts), "--as-of", "2026-01-01", "-q"]
    assert run(*base, "-o", str(plain)).returncode == 0
    out = run(*base, "--enrich", "-o", str(enriched))
    assert out.returncode == 0, out.stderr
    before = {r["contact_id"]: r for r in csv.DictReader(plain.open())}
    after = {r["contact_id"]: r for r in csv.DictReader(enriched.open())}
    # without enrichment no e-mail domain is known: nobody is a competitor
    assert before["c1"]["excluded"] == "false"
    assert after["c1"]["exclusion_reason"] == "Competitor"
    # a business address earns 'Business email' (10) on top of the target country (10),
    # and its domain fills 'company' (+2 for a filled profile field); free-mail gives neither
    assert float(before["c1"]["fit"]) == 10
    assert float(after["c1"]["fit"]) == 22 and float(after["c2"]["fit"]) == 10
    refused = run(*base, "--enrich", "--engine", "spark", "-o", str(tmp_path / "s.parquet"))
    assert refused.returncode == 2 and "leadscore enrich" in refused.stderr


def test_demo_shows_a_bar_while_it_fills_the_store(monkeypatch):
    from rich.console import Console

    from leadscore.cli import demo

    screen = Console(record=True, force_terminal=True, width=100)
    monkeypatch.setattr(demo, "console", screen)

    def work(progress):
        for i, what in enumerate(["making", "writing", "scoring week 1 of 1"]):
            progress(what, i, 3)
        progress("done", 3, 3)
        return "filled"

    assert demo.fill_store(work) == "filled"
    shown = screen.export_text()
    assert "done" in shown and "3/3" in shown


def test_explain_shows_the_matrix_cell(files):
    args = ["explain", "-m", MODEL, "-c", str(files["contacts"]), "-e", str(files["events"])]
    args += ["--as-of", "2026-01-02", "--id", "c1"]
    data = json.loads(run(*args, "--json").stdout)
    fit, engagement = data["groups"]["fit"], data["groups"]["engagement"]
    # the example's matrix: letters A 45, B 30, C 15, else D; bands from 30, 15 and 5
    letter = next((lt for lt, m in (("A", 45), ("B", 30), ("C", 15)) if fit >= m), "D")
    band = next((i for i, m in enumerate((30, 15, 5), start=1) if engagement >= m), 4)
    assert data["matrix"] == f"{letter}{band}"
    hot_fit = letter in "AB" and band <= 2
    assert (data["quadrant"] == "Hot & fitting") == hot_fit
    out = run(*args)
    assert f"matrix {letter}{band} ({data['quadrant']})" in out.stdout


def test_validate_summarises_the_matrix():
    out = run("validate", MODEL)
    assert out.returncode == 0, out.stderr
    assert "matrix: letters A/B/C/D from fit × bands of engagement" in out.stdout
