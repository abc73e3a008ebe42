"""`leadscore score --accounts` and `leadscore explain --account` as a user runs them:
the scores worked out by hand on seven contacts and three accounts, the same files
from every engine, and the errors that say what to do."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.errors import DataError, UsageError

MODEL = """
name: abm-mini
groups:
  fit:
    rules:
      - {name: Senior, when: {job_title: {matches: "(?i)\\\\b(ceo|vp)\\\\b"}}, points: 10}
      - {name: At an A account, when: {account.grade: A}, points: 5}
      - {name: At a hot account, when: {account.stage: hot}, points: 7}
  engagement:
    rules:
      - {name: Visit, on: {type: page_view}, points: 4, max_points: 12}
exclusions:
  - {name: Student, when: {job_title: Student}}
account:
  groups:
    fit:
      rules:
        - {name: Software, when: {industry: Software}, points: 20}
    team:
      rules:
        - {name: Team, rollup: sum, of: engagement, max_points: 20}
        - {name: Engaged, rollup: count, where: {engagement: {gte: 8}}, points: 3}
        - name: Buying group
          rollup: roles
          roles: {boss: {job_title: CEO}, user: {job_title: Engineer}}
          where: {engagement: {gte: 4}}
          points: 10
  exclusions:
    - {name: Customer, when: {customer: true}}
  grades: {fit: {A: 20, else: D}}
  thresholds:
    - {stage: hot, when: {total: {gte: 30}}}
  default_stage: cold
"""
PLAIN = """
name: plain
groups:
  fit:
    rules:
      - {name: Senior, when: {job_title: CEO}, points: 10}
"""
CONTACTS = """id,email,job_title,account_id
c1,ann@acme.com,CEO,
c2,bob@ACME.com,Engineer,
c3,cat@gmail.com,VP,
c4,dan@acme.com,Engineer,beta
c5,eve@beta.io,Student,
c6,fay@gmail.com,CEO,acme
c7,gus@acme.com,VP,gone
"""
ACCOUNTS = """id,domain,industry,customer
acme,https://www.Acme.com/,Software,no
beta,beta.io,Retail,yes
gm,gmail.com,Software,no
"""
VISITS = {"c1": 3, "c2": 1, "c3": 5, "c4": 2, "c5": 4, "c7": 1}  # page views, no decay
AS_OF = "2026-01-01T00:00:00Z"

# Links: c1, c2 by domain (acme.com, any case); c3 free-mail: none (gm's gmail.com
# domain links nobody); c4 names beta (wins over its acme.com address); c5 by domain;
# c6 names acme from a free-mail address; c7 names an unknown id: none, no fallback.
LINKS = {"c1": "acme", "c2": "acme", "c3": "", "c4": "beta", "c5": "beta", "c6": "acme",
         "c7": ""}  # fmt: skip
# Accounts, from the contacts' engagement (c1 12, c2 4, c4 8, c5 12 but excluded, c6 0):
# acme: fit 20 (Software); team: sum 12 + 4 + 0 = 16, one engaged (c1 ≥ 8) × 3, the
#   buying group covered (c1 a CEO, c2 an Engineer, both ≥ 4) 10 → 29; total 49: hot.
# beta: fit 0; team: c4's 8 + 3 (c5 excluded does not count) = 11, no boss; excluded
#   as a customer: total 0, no stage.
# gm: fit 20, no contacts; total 20: cold.
ACCOUNT_ROWS = {
    "acme": {"fit": 20, "team": 29, "total": 49, "grade": "A", "stage": "hot",
             "excluded": "false", "exclusion_reason": "", "rules_fired": "4", "contacts": "3"},
    "beta": {"fit": 0, "team": 11, "total": 0, "grade": "D", "stage": "", "excluded": "true",
             "exclusion_reason": "Customer", "rules_fired": "2", "contacts": "2"},
    "gm": {"fit": 20, "team": 0, "total": 20, "grade": "A", "stage": "cold",
           "excluded": "false", "exclusion_reason": "", "rules_fired": "1", "contacts": "0"},
}  # fmt: skip
# Contacts: Senior 10, at an A account (acme, gm) 5, at a hot account (acme) 7.
CONTACT_ROWS = {
    "c1": (22, 12, 34),  # CEO at acme
    "c2": (12, 4, 16),  # an engineer at acme
    "c3": (10, 12, 22),  # a VP without an account; 5 visits capped at 12
    "c4": (0, 8, 8),  # at beta, a D account that is not hot
    "c5": (0, 12, 0),  # a student: excluded
    "c6": (22, 0, 22),
    "c7": (10, 4, 14),  # names no known account: no account points
}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "abm.yaml").write_text(MODEL)
    (tmp_path / "plain.yaml").write_text(PLAIN)
    (tmp_path / "c.csv").write_text(CONTACTS)
    (tmp_path / "a.csv").write_text(ACCOUNTS)
    lines = ["contact_id,event_id,type,ts"]
    for cid, n in VISITS.items():
        lines += [f"{cid},{cid}-{i},page_view,2025-12-{10 + i}T10:00:00Z" for i in range(n)]
    (tmp_path / "e.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def score(tmp: Path, *extra: str, model: str = "abm.yaml"):
    return invoke(
        "score", "-m", str(tmp / model), "-c", str(tmp / "c.csv"), "-e", str(tmp / "e.csv"),
        "--as-of", AS_OF, *extra,
    )  # fmt: skip


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def flat(text: str) -> str:
    return " ".join(text.split())


def check_scores(contacts: list[dict], accounts: list[dict]) -> None:
    assert [r["contact_id"] for r in contacts] == sorted(CONTACT_ROWS)
    for r in contacts:
        fit, engagement, total = CONTACT_ROWS[r["contact_id"]]
        got = (float(r["fit"]), float(r["engagement"]), float(r["total"]))
        assert got == (fit, engagement, total), r
        assert (r["account_id"] or "") == LINKS[r["contact_id"]], r
    assert {r["contact_id"]: r["exclusion_reason"] for r in contacts}["c5"] == "Student"
    assert [r["account_id"] for r in accounts] == ["acme", "beta", "gm"]
    for r in accounts:
        want = ACCOUNT_ROWS[r["account_id"]]
        for key, value in want.items():
            if key in ("fit", "team", "total"):
                assert float(r[key]) == value, (r["account_id"], key)
            else:
                assert r[key] == value, (r["account_id"], key)
        assert r["model"] == "abm-mini"


# ----------------------------------------------------------------------------- scoring


def test_duckdb_scores_contacts_and_accounts_as_worked_out_by_hand(files):
    result = score(files, "--accounts", str(files / "a.csv"), "-o", str(files / "s.csv"))
    assert result.exit_code == 0, result.output
    contacts, accounts = rows(files / "s.csv"), rows(files / "s.accounts.csv")
    assert list(contacts[0]) == ["contact_id", "model", "fit", "engagement", "total", "grade",
                                 "stage", "excluded", "exclusion_reason", "rules_fired",
                                 "account_id"]  # fmt: skip
    assert list(accounts[0]) == ["account_id", "model", "fit", "team", "total", "grade",
                                 "stage", "excluded", "exclusion_reason", "rules_fired",
                                 "contacts"]  # fmt: skip
    check_scores(contacts, accounts)
    out = flat(result.output)
    assert "Top 3 of 3 accounts — abm-mini" in out
    assert "account stages: cold 1, excluded 1, hot 1" in out
    assert "scored 3 accounts; 5 of 7 contacts linked to an account (71%)" in out
    assert "warning: 1 account(s) have a free-mail or disposable domain" in out
    assert "'gm' (gmail.com)" in out
    assert "1 contact(s) name an account_id that is not among the accounts ('gone')" in out
    assert f"wrote {files / 's.accounts.csv'}" in out


def test_inprocess_writes_the_same_files_as_duckdb(files):
    for engine, name in (("duckdb", "sql"), ("inprocess", "ref")):
        for ext in ("csv", "parquet"):
            out = files / f"{name}.{ext}"
            result = score(files, "--accounts", str(files / "a.csv"), "-o", str(out),
                           "--engine", engine, "-q")  # fmt: skip
            assert result.exit_code == 0, result.output
    for suffix in ("csv", "accounts.csv"):
        assert (files / f"sql.{suffix}").read_bytes() == (files / f"ref.{suffix}").read_bytes()
    check_scores(rows(files / "ref.csv"), rows(files / "ref.accounts.csv"))
    import pyarrow.parquet as pq

    for suffix in ("parquet", "accounts.parquet"):
        sql, ref = pq.read_table(files / f"sql.{suffix}"), pq.read_table(files / f"ref.{suffix}")
        assert sql.to_pylist() == ref.to_pylist()
        assert [f.type for f in sql.schema] == [f.type for f in ref.schema]


def test_accounts_out_can_be_named(files):
    target = files / "out" / "companies.jsonl"
    result = score(files, "-a", str(files / "a.csv"), "-o", str(files / "s.parquet"),
                   "--accounts-out", str(target), "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["account_id"], r["total"]) for r in got] == [("acme", 49), ("beta", 0), ("gm", 20)]
    assert not (files / "s.accounts.parquet").exists()


def test_without_accounts_the_output_is_as_before(files):
    result = score(files, "-o", str(files / "s.csv"), model="plain.yaml")
    assert result.exit_code == 0, result.output
    assert "account_id" not in rows(files / "s.csv")[0]
    assert not (files / "s.accounts.csv").exists()
    assert "linked to an account" not in result.output and "warning" not in result.output


def test_a_model_reading_accounts_scored_without_them_warns(files):
    result = score(files, "-o", str(files / "s.csv"))
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "warning: model(s) 'abm-mini' score accounts or read account fields" in out
    assert "every account.<field> is missing" in out and "--accounts FILE" in out
    by_id = {r["contact_id"]: r for r in rows(files / "s.csv")}
    assert "account_id" not in by_id["c1"]
    assert float(by_id["c1"]["fit"]) == 10  # Senior only: no account, no account points


def test_accounts_for_a_model_that_does_not_use_them_warn_and_are_left_out(files):
    result = score(files, "-a", str(files / "a.csv"), "-o", str(files / "s.csv"),
                   model="plain.yaml")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no model has an 'account:' section or reads account fields" in flat(result.output)
    assert "account_id" not in rows(files / "s.csv")[0]
    assert not (files / "s.accounts.csv").exists()


@pytest.mark.parametrize(
    "extra, error, words",
    [
        (["--as-of-column", "x"], UsageError, "drop --as-of-column"),
        (["--accounts-out", "x.csv"], UsageError, "--accounts-out needs accounts"),
        (["--accounts-table", "acc"], UsageError, "--accounts-table is for"),
    ],
)
def test_account_option_errors(files, extra, error, words):
    accounts = [] if "--accounts-out" in extra else ["-a", str(files / "a.csv")]
    result = score(files, *accounts, "-o", str(files / "s.csv"), *extra)
    assert isinstance(result.exception, error), result.output
    assert words in str(result.exception)
    assert not (files / "s.csv").exists()


def test_bad_extensions_are_refused_before_any_work(files):
    bad_out = score(files, "-a", str(files / "a.csv"), "-o", str(files / "s.csv"),
                    "--accounts-out", str(files / "a.xlsx"))  # fmt: skip
    assert isinstance(bad_out.exception, UsageError)
    assert "use .csv, .parquet or .jsonl" in str(bad_out.exception)
    (files / "a.xlsx").write_text("x")
    bad_in = score(files, "-a", str(files / "a.xlsx"), "-o", str(files / "s.csv"))
    assert isinstance(bad_in.exception, UsageError)
    assert "cannot read" in str(bad_in.exception)
    same = score(files, "-a", str(files / "a.csv"), "-o", str(files / "s.csv"),
                 "--accounts-out", str(files / "s.csv"))  # fmt: skip
    assert isinstance(same.exception, UsageError) and "of their own" in str(same.exception)
    spark = score(files, "-a", str(files / "a.csv"), "-o", str(files / "s.parquet"),
                  "--engine", "spark")  # fmt: skip
    assert isinstance(spark.exception, UsageError) and "Parquet" in str(spark.exception)
    assert not (files / "s.csv").exists()


def test_postgres_takes_the_accounts_from_a_table(files):
    result = score(files, "-a", str(files / "a.csv"), "-o", str(files / "s.csv"),
                   "--engine", "postgresql://nobody@localhost/none")  # fmt: skip
    assert isinstance(result.exception, UsageError)
    assert "--accounts-table NAME" in str(result.exception)


def test_show_sql_prints_every_step_and_both_queries(files):
    result = score(files, "-a", str(files / "a.csv"), "--show-sql")
    assert result.exit_code == 0, result.output
    statements = [s.strip() for s in result.output.split(";\n") if s.strip()]
    creates = [s.split()[3] for s in statements if s.startswith("CREATE TEMPORARY TABLE")]
    # provisional account scores, contact rule points, contact scores, account scores
    assert creates == ["__ls_a00", "__ls_r0", "__ls_p0", "__ls_acc0"]
    assert len(statements) == 6  # and the contact and account queries
    assert "__account_id" in statements[4] and "contacts" in statements[5]
    assert not (files / "s.csv").exists()
    spark = score(files, "-a", str(files / "a.csv"), "--show-sql", "--engine", "spark")
    assert spark.exit_code == 0, spark.output
    assert spark.output.count("CREATE TEMPORARY TABLE") == 4 and "`" in spark.output


def test_enrich_applies_to_the_contacts(files):
    (files / "roles.yaml").write_text(
        MODEL.replace("{job_title: CEO}", "{seniority: c_level}").replace(
            "{job_title: Engineer}", "{function: engineering}"
        )
    )
    plain = score(files, "-a", str(files / "a.csv"), "-o", str(files / "p.csv"), "-q",
                  model="roles.yaml")  # fmt: skip
    enriched = score(files, "-a", str(files / "a.csv"), "-o", str(files / "e.csv"), "-q",
                     "--enrich", model="roles.yaml")  # fmt: skip
    assert plain.exit_code == 0 and enriched.exit_code == 0, enriched.output
    # the buying group reads seniority and function: known only once enriched
    team = {r["account_id"]: float(r["team"]) for r in rows(files / "p.accounts.csv")}
    assert team["acme"] == 16 + 3
    team = {r["account_id"]: float(r["team"]) for r in rows(files / "e.accounts.csv")}
    assert team["acme"] == 16 + 3 + 10


# ----------------------------------------------------------------------------- explain


def explain(tmp: Path, *extra: str, model: str = "abm.yaml"):
    return invoke(
        "explain", "-m", str(tmp / model), "-c", str(tmp / "c.csv"), "-e", str(tmp / "e.csv"),
        "--as-of", AS_OF, *extra,
    )  # fmt: skip


def test_explain_an_account_names_the_contacts_behind_its_points(files):
    result = explain(files, "-a", str(files / "a.csv"), "--account", "acme")
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "acme — abm-mini as of 2026-01-01T00:00:00+00:00: total 49.0, grade A, stage hot" in out
    assert "3 contact(s)" in out
    assert "│ Team │ 3 │ +16 │ +16 │ sum of engagement over 3 contact(s) │" in out
    assert "↳ c1 │ │ │ +12 │ engagement 12" in out and "↳ c2 │ │ │ +4 │ engagement 4" in out
    assert "↳ c1 │ │ │ +5 │ boss" in out and "↳ c2 │ │ │ +5 │ user" in out  # the buying group
    # its contacts, the largest contribution first: c1 12 + 3 + 5, c2 4 + 5, c6 nothing
    assert "│ c1 │ 34.0 │ │ +20 │" in out and "│ c2 │ 16.0 │ │ +9 │" in out
    assert out.index("│ c1 │ 34.0") < out.index("│ c2 │ 16.0") < out.index("│ c6 │ 22.0")
    assert "stage: hot (total ≥ 30)" in out


def test_explain_an_account_as_json(files):
    result = explain(files, "-a", str(files / "a.csv"), "--account", "beta", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["total"], data["excluded"], data["exclusion_reasons"]) == (0, True, ["Customer"])
    assert data["groups"] == {"fit": 0, "team": 11}
    team = next(h for h in data["breakdown"] if h["rule"] == "Team")
    assert [(c["contact_id"], c["points"]) for c in team["contributions"]] == [("c4", 8)]
    assert {m["contact_id"]: m["contribution"] for m in data["members"]} == {"c4": 11, "c5": 0}


def test_explain_a_contact_with_its_account(files):
    result = explain(files, "-a", str(files / "a.csv"), "--id", "c2")
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "total 16.0" in out and "At a hot account" in out
    assert "account: acme (total 49.0, grade A, stage hot)" in out
    alone = explain(files, "-a", str(files / "a.csv"), "--id", "c3")
    assert "account: none (every account.<field> is missing)" in flat(alone.output)
    without = explain(files, "--id", "c2")
    assert without.exit_code == 0, without.output
    assert "total 4.0" in flat(without.output)  # no account: only the visit
    assert "every account.<field> is missing (give them with --accounts FILE)" in flat(
        without.output
    )


def test_explain_account_errors(files):
    unknown = explain(files, "-a", str(files / "a.csv"), "--account", "acmee")
    assert isinstance(unknown.exception, DataError)
    assert "no account with id 'acmee'" in str(unknown.exception)
    assert "ids close to it: acme" in str(unknown.exception)
    plain = explain(files, "-a", str(files / "a.csv"), "--account", "acme", model="plain.yaml")
    assert isinstance(plain.exception, UsageError)
    assert "has no 'account:' section" in str(plain.exception)
    no_file = explain(files, "--account", "acme")
    assert isinstance(no_file.exception, UsageError) and "--accounts FILE" in str(no_file.exception)
    neither = explain(files, "-a", str(files / "a.csv"))
    assert isinstance(neither.exception, UsageError) and "--id" in str(neither.exception)


# ----------------------------------------------------------------------------- the demo


def test_the_demo_scores_the_sample_accounts_too(tmp_path):
    result = invoke("demo", "--no-serve", "--contacts", "400", "--dir", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    accounts = rows(tmp_path / "d" / "accounts.csv")
    generated = rows_of_parquet(tmp_path / "d" / "data" / "accounts.parquet")
    assert [r["account_id"] for r in accounts] == sorted(generated)
    assert f"Top 10 of {len(accounts)} accounts — b2b-saas-abm" in out
    assert "and the top account? leadscore explain -m examples/abm.yaml" in out
    assert len(rows(tmp_path / "d" / "scores.csv")) == 400  # the contacts, as before


def rows_of_parquet(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(path).column("id").to_pylist()


# ----------------------------------------------------------------------------- other engines


@pytest.fixture(scope="module")
def account_db(postgres_url: str) -> str:
    """A database of this module's own, with the contacts, events and accounts tables."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS leadscore_cli_accounts")
        conn.execute("CREATE DATABASE leadscore_cli_accounts")
    url = postgres_url.rsplit("/", 1)[0] + "/leadscore_cli_accounts"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA crm")
        conn.execute(
            "CREATE TABLE crm.people (id text, email text, job_title text, account_id text)"
        )
        conn.execute(
            "CREATE TABLE crm.acts (contact_id text, event_id text, type text, ts timestamptz)"
        )
        conn.execute(
            "CREATE TABLE crm.companies (id text, domain text, industry text, customer text)"
        )
        with conn.cursor() as cur:
            for table, text in (("crm.people", CONTACTS), ("crm.companies", ACCOUNTS)):
                with cur.copy(f"COPY {table} FROM STDIN") as cp:
                    for line in text.strip().splitlines()[1:]:
                        cp.write_row([v or None for v in line.split(",")])
            with cur.copy("COPY crm.acts FROM STDIN") as cp:
                for cid, n in VISITS.items():
                    for i in range(n):
                        cp.write_row([cid, f"{cid}-{i}", "page_view", f"2025-12-{10 + i}T10:00Z"])
    return url


@pytest.mark.postgres
def test_postgres_gives_the_same_account_rows(files, account_db):
    tables = ["--contacts-table", "crm.people", "--events-table", "crm.acts"]
    result = invoke(
        "score",
        "-m",
        str(files / "abm.yaml"),
        "--engine",
        account_db,
        *tables,
        "--accounts-table",
        "crm.companies",
        "--as-of",
        AS_OF,
        "-o",
        str(files / "pg.csv"),
    )
    assert result.exit_code == 0, result.output
    check_scores(rows(files / "pg.csv"), rows(files / "pg.accounts.csv"))
    local = score(files, "-a", str(files / "a.csv"), "-o", str(files / "local.csv"), "-q")
    assert local.exit_code == 0, local.output
    assert (files / "pg.accounts.csv").read_bytes() == (files / "local.accounts.csv").read_bytes()
    out = flat(result.output)
    assert "scored 3 accounts; 5 of 7 contacts linked" in out and "'gm' (gmail.com)" in out
    shown = invoke(
        "score",
        "-m",
        str(files / "abm.yaml"),
        "--engine",
        account_db,
        *tables,
        "--accounts-table",
        "crm.companies",
        "--as-of",
        AS_OF,
        "--show-sql",
    )
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("CREATE TEMPORARY TABLE") == 4 and '"crm"."companies"' in shown.output
    missing = invoke(
        "score",
        "-m",
        str(files / "abm.yaml"),
        "--engine",
        account_db,
        *tables,
        "--accounts-table",
        "crm.nothing",
        "-o",
        str(files / "x.csv"),
    )
    assert isinstance(missing.exception, DataError)
    assert "--accounts-table" in str(missing.exception)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_gives_the_same_account_rows(files):
    import subprocess
    import sys

    import duckdb

    pytest.importorskip("pyspark")
    con = duckdb.connect()
    for name in ("c", "a"):
        con.execute(
            f"COPY (SELECT * FROM read_csv('{files / name}.csv', all_varchar = true)) "
            f"TO '{files / name}.parquet' (FORMAT PARQUET)"
        )
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(ts AS TIMESTAMPTZ) AS ts) FROM "
        f"read_csv('{files}/e.csv', all_varchar = true)) TO '{files}/e.parquet' "
        "(FORMAT PARQUET)"
    )
    args = [
        "score",
        "-m",
        str(files / "abm.yaml"),
        "-c",
        str(files / "c.parquet"),
        "-e",
        str(files / "e.parquet"),
        "-a",
        str(files / "a.parquet"),
        "--as-of",
        AS_OF,
        "--engine",
        "spark",
        "--master",
        "local[1]",
        "-o",
        str(files / "sp.parquet"),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "leadscore", *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scored 3 accounts; 5 of 7 contacts linked" in flat(done.stdout)
    for part, key in (("sp.parquet", "contact_id"), ("sp.accounts.parquet", "account_id")):
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{files / part}/*.parquet') ORDER BY "
            f"{key}) TO '{files / part}.csv' (HEADER)"
        )
    check_scores(rows(files / "sp.parquet.csv"), rows(files / "sp.accounts.parquet.csv"))


def test_backtest_says_it_scores_no_accounts(tmp_path):
    """A backtest scores each contact just before its outcome: account fields are
    missing there, and it says so rather than quietly scoring without them."""
    from leadscore.data.generate import generate

    folder = tmp_path / "data"
    contacts, events = generate(300, 3, folder)
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--model",
            str(Path(__file__).resolve().parents[2] / "examples" / "abm.yaml"),
            "--contacts",
            str(contacts),
            "--events",
            str(events),
            "--outcome",
            "converted",
            "--outcome-time",
            "converted_at",
            "--bootstrap",
            "0",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "backtest scores contacts without their accounts" in result.output
    assert "'b2b-saas-abm'" in result.output
