"""`leadscore import`: contacts and events from files into the store, then scored.

Every test runs on SQLite and on the real PostgreSQL server (the ``database_url``
fixture). Expected scores are worked out by hand from the model below, or compared
with what the service's own API path stores for the same contacts and events.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.errors import DataError, UsageError
from leadscore.service import Service, load_settings, versions
from leadscore.service.importing import import_files
from leadscore.service.schemas import ContactIn, EventIn
from leadscore.service.scoring import compute
from leadscore.store import tables as T

from .helpers import model_yaml

ROOT = Path(__file__).resolve().parents[2]

# demo: FR +20; each pricing view +10; a form submit +30; MQL from 50; @rival.example
# excluded (the helpers' model). None of it depends on the time scored as of.
CONTACTS = [
    {"id": "a1", "email": " Ana@Acme.example ", "country": "FR", "plan": "pro"},
    {"id": "b2", "email": "bo@beta.example", "country": "DE", "plan": ""},
    {"id": "r3", "email": "x@rival.example", "country": "FR", "plan": "free"},
]
EVENTS = [
    {"contact_id": "a1", "event_id": "e1", "type": "page_view", "ts": "2026-01-02T10:00:00Z",
     "url": "/pricing", "form_id": ""},
    {"contact_id": "a1", "event_id": "e1", "type": "page_view", "ts": "2026-01-02T10:00:00Z",
     "url": "/pricing", "form_id": ""},  # the same event delivered twice: counts once
    {"contact_id": "a1", "event_id": "e2", "type": "page_view", "ts": "2026-01-03T10:00:00Z",
     "url": "/pricing/teams", "form_id": ""},
    {"contact_id": "a1", "event_id": "e3", "type": "form_submit", "ts": "2026-01-04T10:00:00",
     "url": "", "form_id": "demo"},
    {"contact_id": "b2", "event_id": "", "type": "page_view", "ts": "2026-01-05T10:00:00+02:00",
     "url": "/pricing", "form_id": ""},
    {"contact_id": "r3", "event_id": "e5", "type": "form_submit", "ts": "2026-01-05T11:00:00Z",
     "url": "", "form_id": "demo"},
]  # fmt: skip
EXPECTED = {
    "a1": (70.0, "MQL", False),
    "b2": (10.0, "lead", False),
    "r3": (0.0, None, True),
}  # excluded: no stage


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_service(database_url: str, **overrides: Any) -> Service:
    settings = load_settings(
        {"database": database_url, "outbound_allow": "127.0.0.1", **overrides}, env={}
    )
    return Service(settings)


def publish(svc: Service, text: str) -> None:
    draft = versions.create_draft(svc, text, {}, "test")
    versions.publish(svc, draft["name"], draft["version"], "test", fire_triggers=False)


@pytest.fixture
def svc(database_url):
    """A service that refuses events of unknown contacts (the default creates them)."""
    service = make_service(database_url, unknown_contacts="refuse")
    publish(service, model_yaml())
    yield service
    service.store.dispose()


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    return write_csv(tmp_path / "contacts.csv", CONTACTS), write_csv(
        tmp_path / "events.csv", EVENTS
    )


def stored_scores(svc: Service, model: str = "demo") -> dict[str, Any]:
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(T.scores).where(T.scores.c.model_name == model)).all()
    return {r.contact_id: r for r in rows}


def count(svc: Service, table: sa.Table) -> int:
    with svc.store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_import_loads_contacts_and_events_and_scores_them(svc, files):
    report = import_files(svc, *files)
    assert (report.contacts_read, report.contacts_created, report.events_read) == (3, 3, 6)
    assert (report.events_added, report.events_duplicate) == (5, 1)
    assert report.models == ["demo"] and report.scored == 3 and report.rate > 0
    got = {cid: (r.total, r.stage, r.excluded) for cid, r in stored_scores(svc).items()}
    assert got == EXPECTED
    with svc.store.read() as conn:
        ana = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == "a1")).one()
        b2 = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == "b2")).one()
        ev = conn.execute(
            sa.select(T.events).where(T.events.c.contact_id == "b2").order_by(T.events.c.seq)
        ).one()
        a1_events = conn.execute(
            sa.select(T.events.c.idempotency_key, T.events.c.attributes)
            .where(T.events.c.contact_id == "a1")
            .order_by(T.events.c.seq)
        ).all()
        history = conn.execute(
            sa.select(T.score_history.c.cause).where(T.score_history.c.contact_id == "a1")
        ).scalars()
        assert list(history)[-1] == "import"
        logged = conn.execute(
            sa.select(T.audit_log.c.actor, T.audit_log.c.detail).where(
                T.audit_log.c.action == "import"
            )
        ).one()
    assert logged.actor == "cli" and logged.detail["files"] == ["contacts.csv", "events.csv"]
    assert (logged.detail["contacts"]["created"], logged.detail["events"]) == (3, 5)
    # the e-mail trimmed and in lower case, as the API stores it; an empty cell is no value
    assert ana.email == "ana@acme.example" and ana.properties["email"] == "ana@acme.example"
    assert ana.properties["email_type"] == "business"  # offline enrichment, as on the API
    assert ana.email_domain == "acme.example"
    assert "plan" not in b2.properties
    # a time with an offset is stored in UTC; an empty event_id is no idempotency key
    assert ev.ts.isoformat() == "2026-01-05T08:00:00+00:00" and ev.idempotency_key is None
    assert a1_events[0] == ("e1", {"url": "/pricing"})  # empty attribute cells left out
    assert a1_events[2] == ("e3", {"form_id": "demo"})


def test_importing_again_adds_nothing_and_changes_no_score(svc, files):
    import_files(svc, *files)
    before = {cid: (r.total, r.stage) for cid, r in stored_scores(svc).items()}
    history = count(svc, T.score_history)
    report = import_files(svc, *files)
    assert (report.contacts_created, report.contacts_unchanged) == (0, 3)
    assert (report.events_added, report.events_duplicate) == (1, 5)  # b2's keyless event
    assert count(svc, T.events) == 6
    after = {cid: (r.total, r.stage) for cid, r in stored_scores(svc).items()}
    assert after == {**before, "b2": (20.0, "lead")}
    assert count(svc, T.score_history) == history + 1  # b2's second pricing view only


def test_a_value_the_enrichment_normalises_is_no_change(svc, tmp_path):
    """'fr' is stored as FR (enrichment): importing 'fr' again changes nothing."""
    again = write_csv(tmp_path / "again.csv", [{**CONTACTS[0], "country": "fr"}, *CONTACTS[1:]])
    import_files(svc, again)
    history = count(svc, T.score_history)
    report = import_files(svc, again)
    assert (report.contacts_updated, report.contacts_unchanged) == (0, 3)
    with svc.store.read() as conn:
        a1 = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == "a1")).one()
    assert a1.properties["country"] == "FR"
    assert count(svc, T.score_history) == history


def test_a_second_file_merges_into_stored_contacts_and_rescores(svc, files, tmp_path):
    import_files(svc, *files)
    update = write_csv(
        tmp_path / "update.csv",
        [{"id": "b2", "email": "", "country": "FR", "job_title": "CTO"}],
    )
    report = import_files(svc, update)
    assert (report.contacts_updated, report.scored) == (1, 1)
    with svc.store.read() as conn:
        b2 = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == "b2")).one()
    # the file's values over the stored ones; an empty cell keeps what is stored
    assert (b2.email, b2.properties["country"], b2.properties["job_title"]) == (
        "bo@beta.example",
        "FR",
        "CTO",
    )
    assert stored_scores(svc)["b2"].total == 30.0  # FR 20 + its pricing view 10


def test_an_events_file_alone_needs_its_contacts_in_the_store(svc, files, tmp_path):
    contacts, events = files
    import_files(svc, contacts)
    assert {r.total for r in stored_scores(svc).values()} == {20.0, 0.0}
    report = import_files(svc, None, events)
    assert report.events_added == 5
    got = {cid: (r.total, r.stage, r.excluded) for cid, r in stored_scores(svc).items()}
    assert got == EXPECTED


def test_unknown_contacts_of_events_are_created_as_the_service_creates_them(database_url, files):
    svc = make_service(database_url)  # unknown_contacts=create, the default
    try:
        publish(svc, model_yaml())
        assert import_files(svc, None, files[1], check_only=True).contacts_for_events == 3
        assert count(svc, T.contacts) == 0
        report = import_files(svc, None, files[1])
        assert (report.contacts_for_events, report.events_added, report.scored) == (3, 5, 3)
        with svc.store.read() as conn:
            a1 = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == "a1")).one()
        assert (a1.email, a1.properties) == (None, {})
        # no country, no e-mail: only the events count (2 pricing views, a form submit)
        assert {c: r.total for c, r in stored_scores(svc).items()} == {
            "a1": 50.0,
            "b2": 10.0,
            "r3": 30.0,
        }
    finally:
        svc.store.dispose()


def test_stored_scores_equal_the_api_path(database_url, files, tmp_path):
    """The same contacts and events through PUT /v1/contacts and POST /v1/events (the
    service's operations behind them) give the same stored scores, to the breakdown."""
    bulk = make_service(database_url)
    api = make_service(f"sqlite:///{tmp_path / 'api.db'}")
    try:
        for s in (bulk, api):
            publish(s, model_yaml())
        import_files(bulk, *files)
        api.upsert_contacts(
            [
                ContactIn(
                    id=c["id"],
                    email=c["email"],
                    properties={k: v for k, v in c.items() if k not in ("id", "email") and v},
                )
                for c in CONTACTS
            ],
            "test",
        )
        api.ingest(
            [
                EventIn(
                    contact_id=e["contact_id"],
                    type=e["type"],
                    ts=e["ts"],
                    idempotency_key=e["event_id"] or None,
                    attributes={k: e[k] for k in ("url", "form_id") if e[k]},
                )
                for e in EVENTS
            ],
            "test",
        )
        fields = ("total", "grade", "stage", "excluded", "groups", "breakdown")
        want = {c: tuple(getattr(r, f) for f in fields) for c, r in stored_scores(api).items()}
        got = {c: tuple(getattr(r, f) for f in fields) for c, r in stored_scores(bulk).items()}
        assert got == want
    finally:
        bulk.store.dispose()
        api.store.dispose()


def test_stored_scores_equal_a_fresh_rescoring_of_generated_data(database_url, tmp_path):
    """A funnel from the generator under the example model (decay, windows, limits,
    completeness): every stored score equals a fresh scoring of the stored contact as of
    the time it was scored."""
    from leadscore.data.generate import simulate, write

    paths = write(simulate(120, 3, events_per_contact=6), tmp_path / "gen", fmt="parquet")
    svc = make_service(database_url)
    try:
        publish(svc, (ROOT / "examples" / "b2b_saas.yaml").read_text())
        report = import_files(svc, paths[0], paths[1])
        assert report.contacts_created == 120 and report.events_added > 500
        stored = stored_scores(svc, "b2b-saas")
        assert len(stored) == 120
        assert any(r.total > 0 for r in stored.values())
        by_time: dict[Any, list[str]] = {}
        for cid, r in stored.items():
            by_time.setdefault(r.scored_at, []).append(cid)
        with svc.store.read() as conn:
            pubs = svc.published(conn)
            for as_of, ids in by_time.items():
                _, fresh = compute(conn, sorted(ids), pubs, as_of, lock=False)
                for cid in ids:
                    adj = fresh[cid]["b2b-saas"]
                    row = stored[cid]
                    assert (row.total, row.stage, row.grade, row.excluded) == (
                        adj.total,
                        adj.stage,
                        adj.result.grade,
                        adj.result.excluded,
                    ), cid
                    assert row.breakdown == adj.breakdown and row.groups == adj.result.groups
    finally:
        svc.store.dispose()


def test_parquet_with_numbers_reads_as_the_batch_scorer_reads_it(svc, tmp_path):
    contacts = tmp_path / "c.parquet"
    pq.write_table(
        pa.table({"contact_id": ["p1"], "country": ["FR"], "employees": [120]}), contacts
    )
    events = tmp_path / "e.parquet"
    pq.write_table(
        pa.table(
            {
                "contact_id": ["p1", "p1"],
                "type": ["form_submit", "page_view"],
                "ts": pa.array([1767225600, 1767229200], pa.int64()).cast(
                    pa.timestamp("s", tz="UTC")
                ),
                "score_hint": [1.5, None],
            }
        ),
        events,
    )
    import_files(svc, contacts, events)
    with svc.store.read() as conn:
        p1 = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == "p1")).one()
        attrs = conn.execute(sa.select(T.events.c.attributes).order_by(T.events.c.seq)).scalars()
        assert list(attrs) == [{"score_hint": "1.5"}, {}]
    assert p1.properties["employees"] == "120"
    assert stored_scores(svc)["p1"].total == 50.0


def test_triggers_fire_only_when_asked(svc, files):
    import_files(svc, *files)
    assert count(svc, T.deliveries) == 0
    with svc.store.read() as conn:
        armed = conn.execute(
            sa.select(T.trigger_state.c.contact_id, T.trigger_state.c.crossings)
        ).all()
    assert ("a1", 1) in [tuple(r) for r in armed]  # its state follows the stage


def test_fire_triggers_queues_the_crossings(database_url, files):
    svc = make_service(database_url)
    try:
        publish(svc, model_yaml())
        import_files(svc, *files, fire_triggers=True)
        with svc.store.read() as conn:
            sent = conn.execute(sa.select(T.deliveries.c.contact_id)).scalars()
            assert list(sent) == ["a1"]
    finally:
        svc.store.dispose()


# ----------------------------------------------------------------------- bad input
def bad_events(tmp_path: Path, row: int, **change: str) -> Path:
    rows = [dict(e) for e in EVENTS]
    rows[row - 1].update(change)
    return write_csv(tmp_path / "bad_events.csv", rows)


def assert_nothing_written(svc: Service) -> None:
    for table in (T.contacts, T.events, T.scores, T.score_history):
        assert count(svc, table) == 0, table.name


@pytest.mark.parametrize(
    ("change", "row", "column", "words"),
    [
        ({"ts": "yesterday"}, 4, "ts", "cannot be read"),
        ({"ts": "2999-01-01T00:00:00Z"}, 3, "ts", "lies in the future"),
        ({"ts": "1850-01-01T00:00:00Z"}, 2, "ts", "outside the times the service keeps"),
        ({"contact_id": "zz9"}, 5, "contact_id", "neither in the contacts file nor in the store"),
        ({"contact_id": "a 1"}, 2, "contact_id", "not one the service takes"),
        ({"type": ""}, 6, "type", "has no type"),
        ({"type": "x" * 101}, 1, "type", "longer than 100 characters"),
        ({"url": "/a\x00b"}, 3, "url", "NUL character"),
    ],
)
def test_a_bad_event_row_is_named_and_nothing_is_written(
    svc, files, tmp_path, change, row, column, words
):
    events = bad_events(tmp_path, row, **change)
    with pytest.raises(DataError) as err:
        import_files(svc, files[0], events)
    e = err.value
    assert (e.source, e.column) == (str(events), column), str(e)
    assert words in str(e) and e.hint
    if words != "cannot be read":  # that one lists every unreadable time in its message
        assert e.row == row, str(e)
    assert f"row {row}" in str(e)
    assert_nothing_written(svc)


def test_a_repeated_email_in_the_file_is_refused_with_both_rows(svc, tmp_path):
    rows = [*CONTACTS, {"id": "d4", "email": "ANA@acme.example", "country": "", "plan": ""}]
    contacts = write_csv(tmp_path / "dup.csv", rows)
    with pytest.raises(DataError, match=r"on more than one contact \(rows 1, 4\)") as err:
        import_files(svc, contacts)
    assert (err.value.row, err.value.column) == (4, "email")
    assert_nothing_written(svc)


def test_an_email_of_another_stored_contact_rolls_back_the_whole_import(svc, files, tmp_path):
    import_files(svc, files[0])
    before = count(svc, T.contacts), count(svc, T.score_history)
    rows = [
        {"id": "n1", "email": "n1@new.example", "country": "FR", "plan": ""},
        {"id": "n2", "email": "bo@beta.example", "country": "FR", "plan": ""},
    ]
    with pytest.raises(DataError, match="already belongs to contact 'b2'") as err:
        import_files(svc, write_csv(tmp_path / "clash.csv", rows), files[1])
    assert (err.value.row, err.value.column) == (2, "email")
    assert "give this row the id 'b2'" in str(err.value)
    assert (count(svc, T.contacts), count(svc, T.score_history)) == before
    assert count(svc, T.events) == 0


def test_bad_contact_ids_are_named(svc, tmp_path):
    rows = [*CONTACTS, {"id": "x/y", "email": "", "country": "", "plan": ""}]
    with pytest.raises(DataError, match="'x/y' is not one the service takes") as err:
        import_files(svc, write_csv(tmp_path / "c.csv", rows))
    assert err.value.row == 4
    rows = [*CONTACTS, {"id": "", "email": "", "country": "", "plan": ""}]
    with pytest.raises(DataError, match=r"have an empty id \(row\(s\) 4\)"):
        import_files(svc, write_csv(tmp_path / "c.csv", rows))
    assert_nothing_written(svc)


def test_check_writes_nothing_and_still_finds_store_problems(svc, files, tmp_path):
    report = import_files(svc, *files, check_only=True)
    assert (report.contacts_created, report.events_read, report.checked_only) == (3, 6, True)
    assert_nothing_written(svc)
    with pytest.raises(DataError, match="neither in the contacts file nor in the store"):
        import_files(svc, None, files[1], check_only=True)


def test_usage_errors(svc, tmp_path):
    with pytest.raises(UsageError, match="nothing to import"):
        import_files(svc)
    with pytest.raises(UsageError, match="does not exist"):
        import_files(svc, tmp_path / "missing.csv")
    with pytest.raises(UsageError, match="unknown file type"):
        import_files(svc, write_csv(tmp_path / "c.xlsx", CONTACTS))


# ----------------------------------------------------------------------- command line
def test_the_command_imports_and_reports_the_load_rate(database_url, files):
    svc = make_service(database_url)
    publish(svc, model_yaml())
    svc.store.dispose()
    out = CliRunner().invoke(
        app,
        [
            "import",
            "--contacts",
            str(files[0]),
            "--events",
            str(files[1]),
            "--database",
            database_url,
            "--quiet",
        ],
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "imported 3 contacts (3 new, 0 updated, 0 unchanged) and 5 events" in text
    assert "1 skipped" in text
    assert "load rate:" in text and "rows/s (9 rows in" in text
    assert "scored 3 contacts under demo" in text


def test_the_command_stops_on_a_bad_row_with_its_place(tmp_path, files):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    events = bad_events(tmp_path, 2, ts="not a time")
    out = CliRunner().invoke(
        app,
        ["import", "--contacts", str(files[0]), "--events", str(events), "--database", url],
    )
    assert out.exit_code != 0
    assert isinstance(out.exception, DataError)
    assert "row 2: 'not a time'" in str(out.exception) and "ISO 8601" in str(out.exception)


def test_the_command_check_option(tmp_path, files):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    out = CliRunner().invoke(
        app, ["import", "--contacts", str(files[0]), "--database", url, "--check", "-q"]
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "checked, nothing written: would import 3 contacts (3 new, 0 updated" in text


# ----------------------------------------------------------------------- accounts
ACCOUNTS = [
    {"id": "acme", "domain": "https://www.Acme.com/", "industry": "Software"},
    {"id": "beta", "domain": "beta.io", "industry": "Retail"},
]
PEOPLE = [
    {"id": "c1", "email": "ann@acme.com", "account_id": ""},
    {"id": "c2", "email": "bob@ACME.com", "account_id": ""},
    {"id": "c3", "email": "cat@gmail.com", "account_id": ""},
    {"id": "c4", "email": "dan@acme.com", "account_id": "beta"},
]
VISITS = [
    {"contact_id": c, "type": "page_view", "ts": f"2026-01-0{i + 1}T00:00:00Z"}
    for i, c in enumerate(["c1", "c1", "c2"])
]


def test_an_accounts_file_is_imported_and_accounts_are_scored(database_url, tmp_path):
    from .test_accounts import MODEL as ABM
    from .test_accounts import assert_matches_reference

    svc = make_service(database_url)
    try:
        publish(svc, ABM.format(url="http://127.0.0.1:9/hook"))
        report = import_files(
            svc,
            write_csv(tmp_path / "people.csv", PEOPLE),
            write_csv(tmp_path / "visits.csv", VISITS),
            accounts=write_csv(tmp_path / "accounts.csv", ACCOUNTS),
        )
        assert (report.accounts_created, report.contacts_created, report.events_added) == (2, 4, 3)
        with svc.store.read() as conn:
            acme = conn.execute(
                sa.select(T.account_scores).where(T.account_scores.c.account_id == "acme")
            ).one()
            domain = conn.execute(
                sa.select(T.accounts.c.domain).where(T.accounts.c.id == "acme")
            ).scalar_one()
        assert domain == "acme.com"  # normalised, as the API stores it
        # c1 20 + c2 10 = team 30, + 3 for the one engaged contact, + fit 20 (Software)
        assert (acme.total, acme.stage, acme.contacts) == (53.0, "MQA", 2)
        # c1 reads its account: A grade 10 + MQA 5; its two visits 20
        assert stored_scores(svc, "abm")["c1"].groups == {"fit": 15, "engagement": 20}
        assert_matches_reference(type("Api", (), {"service": svc}))
    finally:
        svc.store.dispose()


@pytest.mark.parametrize(
    ("second", "words"),
    [
        ({"id": "g", "domain": "gmail.com", "industry": ""}, "free-mail domain"),
        ({"id": "b", "domain": "WWW.acme.com", "industry": ""}, "already belongs to account"),
        ({"id": "c", "domain": "not a domain", "industry": ""}, "is not a domain"),
        ({"id": "x y", "domain": "", "industry": ""}, "is not one the service takes"),
    ],
)
def test_a_bad_account_row_is_named_and_nothing_is_written(svc, tmp_path, second, words):
    accounts = write_csv(tmp_path / "accounts.csv", [ACCOUNTS[0], second])
    with pytest.raises(DataError, match=words) as err:
        import_files(svc, write_csv(tmp_path / "people.csv", PEOPLE), accounts=accounts)
    assert (err.value.source, err.value.row) == (str(accounts), 2)
    assert err.value.column == ("id" if " " in second["id"] else "domain")
    assert_nothing_written(svc)
    assert count(svc, T.accounts) == 0


def test_progress_is_told_every_step_up_to_its_total(svc, files, tmp_path):
    seen: dict[str, list[tuple[int, int]]] = {}
    accounts = write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    import_files(
        svc,
        *files,
        accounts=accounts,
        progress=lambda step, done, total: seen.setdefault(step, []).append((done, total)),
    )
    assert list(seen) == ["checking", "accounts", "contacts", "events", "scoring"]
    assert {step: calls[-1] for step, calls in seen.items()} == {
        "checking": (1, 1),
        "accounts": (2, 2),
        "contacts": (3, 3),
        "events": (6, 6),
        "scoring": (3, 3),
    }


def test_repeated_emails_first_keeps_the_address_on_its_first_contact(svc, tmp_path):
    rows = [*CONTACTS, {"id": "d4", "email": "ANA@acme.example", "country": "FR", "plan": ""}]
    report = import_files(svc, write_csv(tmp_path / "dup.csv", rows), repeated_emails="first")
    assert (report.contacts_created, report.emails_left_out) == (4, 1)
    clash = [{"id": "n2", "email": "bo@beta.example", "country": "FR", "plan": ""}]
    report = import_files(svc, write_csv(tmp_path / "clash.csv", clash), repeated_emails="first")
    assert (report.contacts_created, report.emails_left_out) == (1, 1)
    with svc.store.read() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(T.contacts))}
    assert rows["a1"].email == "ana@acme.example" and rows["b2"].email == "bo@beta.example"
    for cid in ("d4", "n2"):
        assert rows[cid].email is None and "email" not in rows[cid].properties, cid
        assert rows[cid].properties["country"] == "FR"
    with pytest.raises(UsageError, match="use 'refuse' or 'first'"):
        import_files(svc, write_csv(tmp_path / "c.csv", CONTACTS), repeated_emails="last")


def test_an_attributes_column_is_refused_not_dropped(svc, files, tmp_path):
    import json

    events = tmp_path / "events.jsonl"
    lines = [
        {"contact_id": "a1", "type": "page_view", "ts": "2026-01-02T10:00:00Z"},
        {"contact_id": "a1", "type": "page_view", "ts": "2026-01-02T10:00:00Z",
         "attributes": {"url": "/pricing"}},
    ]  # fmt: skip
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(DataError, match="not from one 'attributes' column") as err:
        import_files(svc, files[0], events)
    assert (err.value.row, err.value.column) == (2, "attributes")
    assert_nothing_written(svc)
