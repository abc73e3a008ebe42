"""The synthetic funnel: deterministic, readable by load_inputs, with a ground truth
that follows the hidden propensity, and with the mess real data has; its accounts
link the way the linking rules say."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadscore.data.generate import (
    ACCOUNT_LINK_RATE,
    END,
    MAX_COMPANIES,
    accounts_path,
    generate,
    simulate,
)
from leadscore.data.generate import (
    FREE_MAIL as GENERATED_FREE_MAIL,
)
from leadscore.data.io import load_inputs
from leadscore.engine.linking import AccountIndex, email_domain, normalise_domain
from leadscore.errors import UsageError

PROPERTIES = [
    "email", "first_name", "last_name", "company", "job_title", "country", "phone", "employees",
    "industry", "budget", "source", "lifecycle_stage", "created_at", "converted", "converted_at",
    "account_id",
]  # fmt: skip
ACCOUNT_PROPERTIES = ["name", "domain", "industry", "employees", "country", "revenue",
                      "technologies", "customer"]  # fmt: skip
ATTRIBUTES = ["url", "form_id", "asset_id", "email_id", "campaign", "session_id"]
FREE_MAIL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com")
DISPOSABLE = ("mailinator.com", "10minutemail.com", "guerrillamail.com", "yopmail.com")


def texts(table: pa.Table, column: str) -> list:
    return table.column(column).cast(pa.string()).to_pylist()


@pytest.fixture(scope="module")
def world():
    return simulate(6000, seed=11)


@pytest.fixture(scope="module")
def per_contact(world):
    """For each contact: did they ask for a demo, view /pricing, view /careers."""
    c, e = world.contacts, world.events
    index = {cid: i for i, cid in enumerate(c.column("id").to_pylist())}
    n = c.num_rows
    demo, pricing, careers = (np.zeros(n, bool) for _ in range(3))
    for cid, typ, form, url in zip(
        texts(e, "contact_id"), texts(e, "type"), texts(e, "form_id"), texts(e, "url"), strict=True
    ):
        i = index[cid]
        if typ == "form_submit" and form in ("demo", "contact-sales"):
            demo[i] = True
        if typ == "page_view" and url == "/pricing":
            pricing[i] = True
        if typ == "page_view" and url == "/careers":
            careers[i] = True
    converted = np.array(c.column("converted").to_pylist()) == 1
    return {"demo": demo, "pricing": pricing, "careers": careers, "converted": converted}


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = simulate(400, seed=5), simulate(400, seed=5), simulate(400, seed=6)
    assert a.contacts.equals(b.contacts) and a.events.equals(b.events)
    assert np.array_equal(a.propensity, b.propensity)
    assert not a.contacts.equals(c.contacts)
    assert a.contacts.column("id").to_pylist() == c.contacts.column("id").to_pylist()


def test_same_seed_same_files(tmp_path):
    first = generate(300, 9, tmp_path / "a", events_per_contact=8)
    second = generate(300, 9, tmp_path / "b", events_per_contact=8)
    for x, y in zip(first, second, strict=True):
        assert pq.read_table(x).equals(pq.read_table(y))
    assert pq.read_table(accounts_path(tmp_path / "a")).equals(
        pq.read_table(accounts_path(tmp_path / "b"))
    )


def _digest(table: pa.Table) -> str:
    return hashlib.sha256(repr(table.to_pydict()).encode()).hexdigest()[:16]


def test_accounts_leave_the_earlier_columns_as_they_were():
    # The digests of simulate(300, 3, events_per_contact=5) from before accounts were
    # generated: files made with an older version stay the same but for account_id.
    data = simulate(300, 3, events_per_contact=5)
    assert data.contacts.column_names[-1] == "account_id"
    assert _digest(data.contacts.drop_columns(["account_id"])) == "c61e116b953c8c89"
    # The events' times come from floating-point draws (exp, powers) whose last bit
    # depends on the processor's vector unit (numpy dispatches SIMD kernels by CPU), so
    # a digest of them is no constant across machines: it failed on an EPYC with the
    # generator unchanged. What accounts must leave alone is the events' shape; one
    # machine's repeatability is test_same_seed_same_files.
    assert data.events.column_names == [
        "contact_id", "event_id", "type", "ts", "url", "form_id", "asset_id", "email_id",
        "campaign", "session_id",
    ]  # fmt: skip
    assert str(data.events.schema.field("ts").type) == "timestamp[s, tz=UTC]"


def test_row_counts(world):
    assert world.contacts.num_rows == 6000
    assert len(world.propensity) == 6000
    # 20 events per contact on average by default
    assert 0.9 * 20 * 6000 < world.events.num_rows < 1.1 * 20 * 6000
    light = simulate(2000, seed=1, events_per_contact=5)
    assert 0.85 * 5 * 2000 < light.events.num_rows < 1.15 * 5 * 2000
    assert simulate(50, seed=1, events_per_contact=0).events.num_rows == 0


def test_contact_ids_unique_and_events_belong_to_contacts(world):
    ids = world.contacts.column("id").to_pylist()
    assert len(set(ids)) == len(ids) and ids[0] == "c0000001"
    assert set(texts(world.events, "contact_id")) <= set(ids)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_load_inputs_reads_the_files(tmp_path, fmt):
    contacts, events = generate(500, 2, tmp_path, events_per_contact=6, fmt=fmt)
    assert (contacts.name, events.name) == (f"contacts.{fmt}", f"events.{fmt}")
    inputs = load_inputs(contacts, events, accounts=accounts_path(tmp_path, fmt))
    assert inputs.n_contacts == 500
    assert inputs.properties == PROPERTIES
    assert inputs.account_properties == ACCOUNT_PROPERTIES
    assert inputs.n_accounts == len(list(inputs.account_rows())) > 40
    assert inputs.attributes == ATTRIBUTES
    assert inputs.orphan_events == 0
    assert inputs.n_events == (pq.read_metadata(events).num_rows if fmt == "parquet" else
                               sum(1 for _ in events.open()) - 1)  # fmt: skip
    con = inputs.con
    outside = con.execute(
        "SELECT count(*) FROM events WHERE ts > TIMESTAMPTZ '2026-01-01 00:00:00+00' "
        "OR ts < TIMESTAMPTZ '2025-01-01 00:00:00+00'"
    ).fetchone()[0]
    assert outside == 0  # the year before END
    # every event happens after its contact was created
    early = con.execute(
        "SELECT count(*) FROM events e JOIN contacts c ON c.id = e.contact_id "
        "WHERE e.ts < CAST(c.created_at AS TIMESTAMPTZ)"
    ).fetchone()[0]
    assert early == 0
    types = {r[0] for r in con.execute("SELECT DISTINCT type FROM events").fetchall()}
    assert {"page_view", "form_submit", "email_sent", "email_open", "email_click"} <= types


def test_csv_times_are_iso_utc(tmp_path):
    _, events = generate(50, 4, tmp_path, events_per_contact=4, fmt="csv")
    header, row = events.read_text().splitlines()[:2]
    assert header == '"contact_id","event_id","type","ts",' + ",".join(f'"{a}"' for a in ATTRIBUTES)
    ts = row.split(",")[3].strip('"')
    assert ts.endswith("Z") and "T" in ts and datetime.fromisoformat(ts) <= END


def test_labels_consistent(world):
    converted = world.contacts.column("converted").to_pylist()
    when = world.contacts.column("converted_at").to_pylist()
    created = world.contacts.column("created_at").to_pylist()
    assert set(converted) == {0, 1}
    for flag, at, born in zip(converted, when, created, strict=True):
        assert (at is not None) == (flag == 1)
        if at is not None:
            assert born <= at <= END


def test_conversion_follows_the_hidden_propensity(world, per_contact):
    converted = per_contact["converted"]
    z = world.propensity
    assert 0.04 < converted.mean() < 0.2
    assert np.corrcoef(z, converted)[0, 1] > 0.2
    top, bottom = z > np.quantile(z, 0.8), z < np.quantile(z, 0.2)
    assert converted[top].mean() > 4 * converted[bottom].mean()


def test_signals_users_score_on_are_predictive(per_contact):
    converted, demo = per_contact["converted"], per_contact["demo"]
    assert 0.03 < demo.mean() < 0.2
    assert converted[demo].mean() > 3 * converted[~demo].mean()
    pricing, careers = per_contact["pricing"], per_contact["careers"]
    assert converted[pricing].mean() > converted[~pricing].mean()
    assert converted[careers & ~pricing].mean() < converted[pricing & ~careers].mean()


def test_fit_follows_the_hidden_propensity(world):
    z = world.propensity
    titles = texts(world.contacts, "job_title")
    senior_words = ("CEO", "VP", "Head", "Director", "Founder")
    senior = np.array([t is not None and any(w in t for w in senior_words) for t in titles])
    assert z[senior].mean() > z[~senior].mean() + 0.3
    emails = texts(world.contacts, "email")
    free = np.array([e is not None and e.endswith(FREE_MAIL) for e in emails])
    assert z[free].mean() < z[~free].mean()


def test_realistic_mess(world):
    c, e = world.contacts, world.events
    emails = texts(c, "email")
    n = len(emails)
    assert sum(x is not None and x.endswith(FREE_MAIL) for x in emails) > 0.1 * n
    assert sum(x is not None and x.endswith(DISPOSABLE) for x in emails) > 0
    assert sum(x is not None and "@" not in x for x in emails) > 0  # broken addresses
    for column in ("email", "first_name", "job_title", "country", "phone", "budget"):
        assert 0 < c.column(column).null_count < 0.6 * n, column
    # the same event delivered twice: same id, same content
    rows = e.to_pylist()
    seen: dict[str, dict] = {}
    twice = 0
    for row in rows:
        prior = seen.setdefault(row["event_id"], row)
        if prior is not row:
            twice += 1
            assert prior == row
    assert 0 < twice < 0.01 * len(rows)


# ----------------------------------------------------------------------------- accounts


def test_one_account_per_company_with_contacts(world):
    accounts = world.accounts
    assert accounts.column_names == ["id", *ACCOUNT_PROPERTIES]
    ids = accounts.column("id").to_pylist()
    assert ids[:2] == ["a000001", "a000002"] and len(set(ids)) == len(ids)
    # 6,000 contacts work for 750 companies; nearly all of them have a contact
    assert 650 < accounts.num_rows <= 750
    names = set(accounts.column("name").to_pylist())
    assert set(texts(world.contacts, "company")) - {None} <= names
    customers = texts(accounts, "customer")
    assert set(customers) == {"yes", "no"} and customers.count("yes") < 0.08 * len(customers)
    tools = [t for t in texts(accounts, "technologies") if t is not None]
    assert all(1 <= len(t.split(";")) <= 6 for t in tools)
    # revenue follows the headcount
    rows = [r for r in accounts.to_pylist() if r["revenue"] and r["employees"]]
    big = [r["revenue"] for r in rows if r["employees"] > 1000]
    small = [r["revenue"] for r in rows if r["employees"] < 20]
    assert min(big) > max(small) / 10 and np.median(big) > 50 * np.median(small)


def test_account_domains_are_messy_like_a_crm_export(world):
    raw = texts(world.accounts, "domain")
    n = len(raw)
    blank = sum(d is None for d in raw)
    free = sum(d is not None and d in GENERATED_FREE_MAIL for d in raw)
    urls = sum(d is not None and d.startswith("https://www.") for d in raw)
    upper = sum(d is not None and d != d.lower() for d in raw)
    assert 0 < free < 0.03 * n and 0 < blank < 0.05 * n
    assert 0 < urls < 0.05 * n and 0 < upper < 0.03 * n
    # written badly, but still the company's domain once read as a domain
    assert all(normalise_domain(d) is not None for d in raw if d is not None)


def test_contacts_link_explicitly_by_domain_or_not_at_all(world):
    accounts = world.accounts.to_pylist()
    by_id = {a["id"]: a for a in accounts}
    index = AccountIndex(accounts)
    assert index.report.counts["free"] > 0  # free-mail account domains are set aside
    contacts = world.contacts.select(["id", "email", "company", "account_id"]).to_pylist()
    named = [c for c in contacts if c["account_id"] is not None]
    assert abs(len(named) / len(contacts) - ACCOUNT_LINK_RATE) < 0.03
    stale = [c for c in named if c["account_id"] not in by_id]
    assert 0 < len(stale) < 0.03 * len(named)
    for c in named:  # an explicit id names the contact's company (or no account)
        if c["account_id"] in by_id and c["company"] is not None:
            assert by_id[c["account_id"]]["name"] == c["company"]
    by_domain = free_mail = 0
    for c in contacts:
        if c["account_id"] is not None:
            continue
        domain = email_domain(c["email"])
        linked = index.link(c)
        if domain in FREE_MAIL:
            free_mail += 1
            assert linked is None  # free-mail never links
        elif linked is not None:
            by_domain += 1
            if c["company"] is not None:
                assert by_id[linked]["name"] == c["company"]
    assert by_domain > 0.3 * len(contacts) and free_mail > 0.1 * len(contacts)


def test_the_number_of_accounts_can_be_chosen():
    few = simulate(2000, seed=1, events_per_contact=1, accounts=40)
    assert 35 <= few.accounts.num_rows <= 40
    assert len(set(texts(few.contacts, "company")) - {None}) <= 40
    # more companies than there are plain names: numbered ones, still distinct
    many = simulate(3 * MAX_COMPANIES, seed=1, events_per_contact=0, accounts=MAX_COMPANIES + 5000)
    names = many.accounts.column("name").to_pylist()
    domains = [normalise_domain(d) for d in texts(many.accounts, "domain") if d is not None]
    assert len(set(names)) == len(names) > MAX_COMPANIES
    assert any(name.endswith(" 2") for name in names)
    assert len(set(domains)) > 0.97 * len(domains)


def test_bad_arguments_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="at least 1"):
        simulate(0, seed=1)
    with pytest.raises(UsageError, match="number of accounts"):
        simulate(10, seed=1, accounts=0)
    with pytest.raises(UsageError, match="parquet or csv"):
        generate(10, 1, tmp_path, fmt="xlsx")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        generate(10, 1, tmp_path / "file")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leadscore", *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def test_cli_generate(tmp_path: Path):
    out = run("generate", "--contacts", "200", "--seed", "3", "--out", str(tmp_path / "d"),
              "--events-per-contact", "5", "--format", "csv")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "wrote 200 contacts" in out.stdout and "events" in out.stdout
    assert (tmp_path / "d" / "contacts.csv").exists() and (tmp_path / "d" / "events.csv").exists()
    assert f"accounts to {tmp_path / 'd' / 'accounts.csv'}" in out.stdout
    few = run("generate", "--contacts", "200", "--seed", "3", "--out", str(tmp_path / "f"),
              "--events-per-contact", "1", "--accounts", "7", "--format", "csv")  # fmt: skip
    assert few.returncode == 0, few.stderr
    assert len((tmp_path / "f" / "accounts.csv").read_text().splitlines()) == 1 + 7
    bad = run("generate", "--contacts", "10", "--out", str(tmp_path / "e"), "--format", "xls")
    assert bad.returncode == 2
    assert "Error: unknown format 'xls': use parquet or csv" in bad.stderr
