"""`leadscore crm import|sync` and `leadscore export` end to end against the fake CRMs."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import duckdb
import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.integrations.exports import ScoreChangedWebhook, score_changed_payload

from .fakes import FakeHubSpot, FakePipedrive

MODEL = """\
name: tiny
groups:
  fit:
    rules:
      - name: Decision maker
        when: {job_title: {matches: "(?i)cto|ceo"}}
        points: 20
  engagement:
    rules:
      - name: Pricing page
        on: {type: page_view, url: {contains: /pricing}}
        points: 10
      - name: Demo request
        on: {type: form_submit}
        points: 40
thresholds:
  - stage: MQL
    when: {total: {gte: 50}}
default_stage: lead
"""


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "model.yaml").write_text(MODEL)
    with (tmp_path / "contacts.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "email", "job_title"])
        w.writerows([["c1", "ann@acme.example", "CTO"], ["c2", "bob@acme.example", "Intern"]])
    with (tmp_path / "events.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["contact_id", "type", "ts", "url"])
        w.writerows(
            [
                ["c1", "page_view", "2026-02-01T10:00:00Z", "/pricing"],
                ["c1", "form_submit", "2026-02-02T10:00:00Z", ""],
                ["c2", "page_view", "2026-02-01T10:00:00Z", "/pricing"],
            ]
        )
    return tmp_path


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_export_writes_scores_with_reasons_as_csv_and_parquet(files):
    args = ["export", "-m", str(files / "model.yaml"), "-c", str(files / "contacts.csv"),
            "-e", str(files / "events.csv"), "--as-of", "2026-03-01"]  # fmt: skip
    assert run(*args, "-o", str(files / "s.csv")).exit_code == 0
    rows = list(csv.DictReader((files / "s.csv").open()))
    # c1: CTO 20 + pricing 10 + demo 40 = 70 -> MQL; c2: pricing 10 -> lead
    assert [(r["contact_id"], r["email"], float(r["total"]), r["stage"]) for r in rows] == [
        ("c1", "ann@acme.example", 70.0, "MQL"),
        ("c2", "bob@acme.example", 10.0, "lead"),
    ]
    assert rows[0]["top_reasons"] == "Demo request +40; Decision maker +20; Pricing page +10"
    assert run(*args, "-o", str(files / "s.parquet")).exit_code == 0
    totals = duckdb.sql(f"SELECT total FROM '{files / 's.parquet'}' ORDER BY contact_id").fetchall()
    assert totals == [(70.0,), (10.0,)]


def test_crm_sync_writes_scores_to_hubspot_once_and_never_prints_the_token(files):
    with FakeHubSpot() as hub:
        (files / "int.yaml").write_text(f"crm:\n  hubspot:\n    base_url: {hub.url}\n")
        env = {"HUBSPOT_TOKEN": hub.token}
        args = ["crm", "sync", "-s", "hubspot", "--config", str(files / "int.yaml"),
                "-m", str(files / "model.yaml"), "-c", str(files / "contacts.csv"),
                "-e", str(files / "events.csv"), "--as-of", "2026-03-01",
                "--state", str(files / "state.json"),
                "--log", str(files / "sync.jsonl")]  # fmt: skip
        first = run(*args, env=env)
        assert first.exit_code == 0, first.output
        ann = hub.contacts[hub._by_email("ann@acme.example")]
        assert ann["leadscore_score"] == "70" and ann["leadscore_stage"] == "MQL"
        assert ann["leadscore_reasons"].startswith("Demo request +40")
        second = run(*args, env=env)
        assert "2" in second.output  # two unchanged
        assert sum(len(w) for w in hub.writes.values()) == 2  # nothing sent the second time
        log = [json.loads(x) for x in (files / "sync.jsonl").read_text().splitlines()]
        assert [e["status"] for e in log] == ["written", "written"]
        for text in (first.output, second.output, (files / "sync.jsonl").read_text()):
            assert hub.token not in text


def test_crm_sync_with_a_missing_token_or_a_bad_config_says_what_to_fix(files):
    (files / "int.yaml").write_text("crm:\n  hubspot:\n    batch_size: 1000\n")
    r = CliRunner().invoke(app, ["crm", "sync", "-s", "hubspot", "--config",
                                 str(files / "int.yaml"), "--scores", "x.csv"])  # fmt: skip
    assert r.exit_code != 0
    assert "int.yaml:3:5" in str(r.exception) and "batch_size" in str(r.exception)
    (files / "int.yaml").write_text("crm:\n  hubspot: {token_env: NO_SUCH_TOKEN_VAR}\n")
    r = CliRunner().invoke(app, ["crm", "sync", "-s", "hubspot", "--config",
                                 str(files / "int.yaml"), "--scores", "x.csv"])  # fmt: skip
    assert "NO_SUCH_TOKEN_VAR is not set" in str(r.exception)


def test_crm_import_from_hubspot_writes_contacts_and_events_files(files):
    with FakeHubSpot() as hub:
        cid = hub.add_contact(email="ann@acme.example", firstname="Ann", jobtitle="CTO")
        hub.events[cid] = [
            {"id": "9", "eventType": "e_visited_page", "occurredAt": "2026-02-01T10:00:00Z",
             "objectId": cid, "objectType": "contact", "properties": {"hs_url": "/pricing"}}
        ]  # fmt: skip
        (files / "int.yaml").write_text(f"crm:\n  hubspot:\n    base_url: {hub.url}\n")
        r = run("crm", "import", "-s", "hubspot", "--config", str(files / "int.yaml"),
                "-o", str(files / "in.csv"), "--events-out", str(files / "ev.csv"),
                env={"HUBSPOT_TOKEN": hub.token})  # fmt: skip
        assert r.exit_code == 0, r.output
    contacts = list(csv.DictReader((files / "in.csv").open()))
    assert contacts == [
        {"id": "ann@acme.example", "email": "ann@acme.example", "first_name": "Ann",
         "hubspot_id": cid, "job_title": "CTO"}
    ]  # fmt: skip
    events = list(csv.DictReader((files / "ev.csv").open()))
    assert [(e["contact_id"], e["type"], e["url"]) for e in events] == [
        ("ann@acme.example", "page_view", "/pricing")
    ]
    # the imported files score directly
    r = run("export", "-m", str(files / "model.yaml"), "-c", str(files / "in.csv"),
            "-e", str(files / "ev.csv"), "-o", str(files / "s.csv"),
            "--as-of", "2026-03-01")  # fmt: skip
    assert r.exit_code == 0 and next(csv.DictReader((files / "s.csv").open()))["total"] == "30.0"


def test_crm_import_from_pipedrive(files):
    with FakePipedrive() as pd:
        pd.add_person("Ann Lee", "ann@acme.example")
        (files / "int.yaml").write_text(f"crm:\n  pipedrive:\n    base_url: {pd.url}\n")
        r = run("crm", "import", "-s", "pipedrive", "-o", str(files / "p.csv"),
                "--config", str(files / "int.yaml"), env={"PIPEDRIVE_TOKEN": pd.token})  # fmt: skip
        assert r.exit_code == 0, r.output
    assert list(csv.DictReader((files / "p.csv").open())) == [
        {"id": "ann@acme.example", "email": "ann@acme.example", "name": "Ann Lee",
         "pipedrive_id": "1"}
    ]  # fmt: skip


def test_score_changed_payload_is_flat_with_the_change_spelled_out():
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    p = score_changed_payload(
        contact_id="c1",
        email="ann@acme.example",
        model="tiny",
        score={"total": 70.0, "grade": None, "stage": "MQL", "excluded": False},
        previous={"total": 30.0, "stage": "lead"},
        reasons=["Demo request +40"],
        at=at,
    )
    assert {k: v for k, v in p.items() if k != "id"} == {
        "event": "score.changed",
        "occurred_at": "2026-03-01T12:00:00+00:00",
        "contact_id": "c1",
        "contact_email": "ann@acme.example",
        "model": "tiny",
        "total": 70.0,
        "previous_total": 30.0,
        "delta": 40.0,
        "grade": None,
        "stage": "MQL",
        "previous_stage": "lead",
        "stage_changed": True,
        "excluded": False,
        "reasons": "Demo request +40",
    }
    assert all(not isinstance(v, dict | list) for v in p.values())  # flat for no-code tools


def test_score_changed_webhook_posts_signed_flat_payloads_only_when_the_score_moves():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from leadscore.actions.webhook import verify
    from leadscore.integrations.events import LeadEvent
    from leadscore.integrations.exports import ScoreChangedWebhook

    got: list[tuple[dict, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    try:
        hook = ScoreChangedWebhook(
            f"http://127.0.0.1:{server.server_address[1]}/zap", secret="s3", allow="127.0.0.1"
        )
        ev = LeadEvent("page_view", datetime(2026, 3, 1, tzinfo=UTC), "t:1", email="a@b.io")

        def result(total, stage):
            return {"contact_id": "c1", "status": "accepted",
                    "scores": {"m": {"total": total, "grade": None, "stage": stage,
                                     "excluded": False}}}  # fmt: skip

        hook([ev], [result(10.0, "lead")])
        hook([ev], [result(10.0, "lead")])  # no change: nothing sent
        hook([ev], [result(55.0, "MQL")])
    finally:
        server.shutdown()
        server.server_close()
    assert len(got) == 2
    headers, body = got[1]
    payload = json.loads(body)
    assert (payload["previous_total"], payload["total"], payload["delta"]) == (10.0, 55.0, 45.0)
    assert payload["stage_changed"] is True and payload["previous_stage"] == "lead"
    assert verify("s3", body, headers["Leadscore-Signature"], headers["Leadscore-Timestamp"])
    assert headers["Leadscore-Delivery"] == payload["id"]


def test_crm_sync_prints_failures_literally_and_exits_1_when_stopped(files):
    with FakeHubSpot() as hub:
        (files / "int.yaml").write_text(
            f"crm:\n  hubspot:\n    base_url: {hub.url}\n    max_retry_after_s: 5\n"
            "    properties: {score: '[bold]score'}\n"
        )
        hub.known_properties.add("[bold]score")
        hub.fail_next(429, 1, Retry_After="60")
        args = ["crm", "sync", "-s", "hubspot", "--config", str(files / "int.yaml"),
                "-m", str(files / "model.yaml"), "-c", str(files / "contacts.csv"),
                "--state", str(files / "state.json")]  # fmt: skip
        r = CliRunner().invoke(app, args, env={"HUBSPOT_TOKEN": hub.token})
        assert r.exit_code != 0
        assert "asked to wait 60 s" in str(r.exception)
        hub.known_properties.discard("[bold]score")
        r = CliRunner().invoke(app, args, env={"HUBSPOT_TOKEN": hub.token, "COLUMNS": "300"})
        assert 'Property "[bold]score" does not exist' in " ".join(r.output.split())
        assert "2 contact(s) not written" in str(r.exception)


def test_crm_import_straight_into_the_service_store_scores_the_contacts(files):
    import sqlalchemy as sa

    from leadscore.service import Service, load_settings, versions
    from leadscore.store import tables as T

    db = f"sqlite:///{files / 'store.db'}"
    svc = Service(load_settings({"database": db}, env={}))
    draft = versions.create_draft(svc, MODEL, {}, "test")
    versions.publish(svc, draft["name"], draft["version"], "test", fire_triggers=False)
    svc.store.dispose()
    with FakeHubSpot() as hub:
        cid = hub.add_contact(email="ann@acme.example", jobtitle="CTO")
        hub.events[cid] = [
            {"id": "9", "eventType": "e_visited_page", "occurredAt": "2026-02-01T10:00:00Z",
             "objectId": cid, "objectType": "contact", "properties": {"hs_url": "/pricing"}}
        ]  # fmt: skip
        (files / "int.yaml").write_text(f"crm:\n  hubspot:\n    base_url: {hub.url}\n")
        args = ["crm", "import", "-s", "hubspot", "--config", str(files / "int.yaml"),
                "--database", db]  # fmt: skip
        r = run(*args, env={"HUBSPOT_TOKEN": hub.token})
        assert r.exit_code == 0, r.output
        assert "imported 1 contacts" in r.output and "imported 1 events" in r.output
        again = run(*args, env={"HUBSPOT_TOKEN": hub.token})
        assert "imported 0 events (1 already there)" in again.output
    svc = Service(load_settings({"database": db}, env={}))
    with svc.store.read() as conn:
        contact = conn.execute(sa.select(T.contacts)).one()
        score = conn.execute(sa.select(T.scores)).one()
    svc.store.dispose()
    assert contact.properties["job_title"] == "CTO" and contact.properties["hubspot_id"] == cid
    assert score.total == 30.0  # CTO 20 + pricing 10

    # and the service's scores go back to HubSpot, matched by the stored HubSpot id
    with FakeHubSpot() as hub2:
        hub2.add_contact(email="someone@else.example")
        known = hub2.add_contact(email="ann@acme.example")
        (files / "int2.yaml").write_text(
            f"crm:\n  hubspot:\n    base_url: {hub2.url}\n    match_on: id\n"
        )
        hub2.contacts[cid] = hub2.contacts.pop(known)  # same record id as the import
        r = run("crm", "sync", "-s", "hubspot", "--config", str(files / "int2.yaml"),
                "--database", db, "--state", str(files / "st.json"),
                env={"HUBSPOT_TOKEN": hub2.token})  # fmt: skip
        assert r.exit_code == 0, r.output
        assert hub2.writes[cid] == [
            {"leadscore_score": "30", "leadscore_grade": "", "leadscore_stage": "lead",
             "leadscore_reasons": "Decision maker +20; Pricing page +10"}
        ]  # fmt: skip

    # an unpublished model's scores stay stored but are not sent any more
    from leadscore.cli.crm import _service_rows

    svc = Service(load_settings({"database": db}, env={}))
    assert [r["model"] for r in _service_rows(db, 3, "hubspot_id")] == [draft["name"]]
    versions.unpublish(svc, draft["name"], "test")
    svc.store.dispose()
    assert _service_rows(db, 3, "hubspot_id") == []


def test_score_changed_webhook_refuses_internal_targets_unless_allowed():
    from leadscore.errors import LeadscoreError

    for url in ("http://169.254.169.254/", "http://0x7f000001/", "http://u:p@crm.example/"):
        with pytest.raises(LeadscoreError):
            ScoreChangedWebhook(url)
    assert ScoreChangedWebhook("HTTP://127.0.0.1:9/x", allow="127.0.0.1").url == (
        "http://127.0.0.1:9/x"
    )
