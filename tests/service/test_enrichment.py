"""Enrichment in the service: offline on upsert, outside services retried by the sweep,
and the next questions to ask a contact.

Model: a business e-mail is worth 10, a c-level or VP title 30 (through the
``seniority`` enrichment derives from ``job_title``), 50-500 employees 5; MQL
from 40.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from leadscore.enrich import Unavailable

from .conftest import make_api

MODEL = """\
name: prof
groups:
  fit:
    rules:
      - name: Business email
        when: {email_type: business}
        points: 10
      - name: Decision maker
        when: {seniority: {in: [c_level, vp]}}
        points: 30
      - name: Mid-market
        when: {employees: {between: [50, 500]}}
        points: 5
      - name: Big company
        when: {company_size: large}
        points: 7
thresholds:
  - stage: MQL
    when: {total: {gte: 40}}
default_stage: lead
"""


def _total(api, cid: str) -> float:
    return api.score(cid, "prof")["total"]


def test_offline_enrichment_on_upsert_feeds_the_rules(database_url):
    for api in make_api(database_url):
        api.publish_model(MODEL)
        r = api.put("/v1/contacts/c1", {"email": "ann@acme.example"})
        assert r.json()["scores"]["prof"]["total"] == 10  # business e-mail
        api.put("/v1/contacts/c1", {"properties": {"job_title": "Directeur commercial"}})
        assert api.score("c1", "prof")["stage"] == "lead"
        props = api.get("/v1/contacts/c1").json()["properties"]
        assert (props["seniority"], props["function"]) == ("director", "sales")
        api.put("/v1/contacts/c1", {"properties": {"job_title": "CEO"}})  # derived again
        assert (_total(api, "c1"), api.score("c1", "prof")["stage"]) == (40, "MQL")
        api.put("/v1/contacts/c1", {"email": "ann.b@gmail.com"})  # now a free address
        props = api.get("/v1/contacts/c1").json()["properties"]
        assert props["email_type"] == "free" and _total(api, "c1") == 30
        # a value sent with the contact wins over enrichment
        api.put(
            "/v1/contacts/c2", {"email": "x@gmail.com", "properties": {"email_type": "business"}}
        )
        assert _total(api, "c2") == 10


def test_offline_enrichment_can_be_switched_off(database_url):
    for api in make_api(database_url, enrich_offline=False):
        api.publish_model(MODEL)
        api.put(
            "/v1/contacts/c1", {"email": "ann@acme.example", "properties": {"job_title": "CEO"}}
        )
        props = api.get("/v1/contacts/c1").json()["properties"]
        assert props == {"email": "ann@acme.example", "job_title": "CEO"}
        assert _total(api, "c1") == 0


class FlakyCompanyData:
    """An outside enricher: down for the first ``down`` calls, then answers by domain."""

    name = "companydata"

    def __init__(self, down: int) -> None:
        self.down, self.calls = down, 0

    def enrich(self, contact: Mapping[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.down:
            raise Unavailable("HTTP 503", retry_after=60)
        return {"company_size": "large"} if contact.get("email_domain") == "acme.example" else {}


def test_an_outside_enricher_that_fails_is_retried_by_the_sweep(database_url):
    flaky = FlakyCompanyData(down=2)
    for api in make_api(database_url, enrichers=[flaky]):
        api.publish_model(MODEL)
        r = api.put("/v1/contacts/c1", {"email": "ann@acme.example"})
        assert r.status_code == 200 and r.json()["scores"]["prof"]["total"] == 10
        props = api.get("/v1/contacts/c1").json()["properties"]
        assert props["enrichment_pending"] == "companydata"
        api.service.sweep()  # not due yet: retry_at is a minute away
        assert flaky.calls == 1
        later = datetime.now(UTC) + timedelta(minutes=2)
        api.service.sweep(now=later)  # second failure, tried again later
        assert flaky.calls == 2
        api.service.sweep(now=later + timedelta(minutes=2))
        assert flaky.calls == 3
        props = api.get("/v1/contacts/c1").json()["properties"]
        assert props["company_size"] == "large" and "enrichment_pending" not in props
        assert _total(api, "c1") == 17
        causes = [h["cause"] for h in api.get("/v1/contacts/c1/history").json()["items"]]
        assert causes[-1] == "enrichment"
        api.service.sweep(now=later + timedelta(days=1))
        assert flaky.calls == 3  # nothing left to retry


def test_an_outside_enricher_gives_up_after_enrich_retry_max(database_url):
    flaky = FlakyCompanyData(down=100)
    for api in make_api(database_url, enrichers=[flaky], enrich_retry_max=2):
        api.publish_model(MODEL)
        api.put("/v1/contacts/c1", {"email": "ann@acme.example"})
        api.service.sweep(now=datetime.now(UTC) + timedelta(hours=1))
        api.service.sweep(now=datetime.now(UTC) + timedelta(hours=2))
        assert flaky.calls == 2
        props = api.get("/v1/contacts/c1").json()["properties"]
        assert "enrichment_pending" not in props and _total(api, "c1") == 10


def test_deleting_a_contact_drops_its_pending_enrichment(database_url):
    import sqlalchemy as sa

    from leadscore.store import tables as T

    for api in make_api(database_url, enrichers=[FlakyCompanyData(down=100)]):
        api.put("/v1/contacts/c1", {"email": "ann@acme.example"})
        count = sa.select(sa.func.count()).select_from(T.enrich_pending)
        with api.service.store.read() as conn:
            assert conn.execute(count).scalar() == 1
        assert api.delete("/v1/contacts/c1").status_code == 204
        with api.service.store.read() as conn:
            assert conn.execute(count).scalar() == 0


def test_next_questions_rank_the_fields_that_move_the_stage_first(database_url):
    for api in make_api(database_url):
        api.publish_model(MODEL)
        api.put("/v1/contacts/c1", {"email": "ann@acme.example"})
        r = api.get(
            "/v1/contacts/c1/next-questions",
            params={"fields": "phone,employees,job_title,email", "n": 3},
            scope="read",
        )
        assert r.status_code == 200, r.text
        (m,) = r.json()["models"]
        assert m["model"] == "prof"
        # job_title can make it MQL (10 + 30); employees only adds 5; the phone
        # changes nothing; the e-mail is known already.
        assert [q["field"] for q in m["questions"]] == ["job_title", "employees"]
        title, employees = m["questions"]
        assert title["changes_stage"] and title["stages"] == ["MQL", "lead"]
        assert (title["now"]["total"], title["highest"]["total"]) == (10, 40)
        assert (employees["changes_stage"], employees["spread"]) == (False, 5)
        one = api.get(
            "/v1/contacts/c1/next-questions", params={"fields": "employees,job_title", "n": 1}
        )
        assert [q["field"] for q in one.json()["models"][0]["questions"]] == ["job_title"]


def test_next_questions_errors(api):
    api.publish_model(MODEL)
    r = api.get("/v1/contacts/nobody/next-questions", params={"fields": "job_title"})
    assert r.status_code == 404 and "nobody" in r.json()["detail"]
    api.put("/v1/contacts/c1", {"email": "ann@acme.example"})
    assert api.get("/v1/contacts/c1/next-questions").status_code == 422
    r = api.get("/v1/contacts/c1/next-questions", params={"fields": " , "})
    assert r.status_code == 422 and "fields=" in r.json()["detail"]
    r = api.get("/v1/contacts/c1/next-questions", params={"fields": "a", "model": "nope"})
    assert r.status_code == 404


def test_a_contact_created_by_an_event_is_enriched(database_url):
    for api in make_api(database_url):
        api.publish_model(MODEL)
        r = api.post("/v1/events", {"email": "Bob@Acme.example", "type": "page_view"})
        assert r.status_code == 202, r.text
        cid = r.json()["contact_id"]
        props = api.get(f"/v1/contacts/{cid}").json()["properties"]
        assert (props["email"], props["email_type"]) == ("bob@acme.example", "business")
        assert _total(api, cid) == 10


class CompanyApi:
    """A local company-data API: GET /companies/DOMAIN answers JSON (404 when unknown)."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.calls: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.calls.append((self.path, self.headers.get("Authorization")))
                if self.path == "/companies/acme.example":
                    body = json.dumps({"size": {"band": "large"}}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                else:
                    body = b"{}"
                    self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_outside_enrichers_from_the_settings_file(database_url, tmp_path, monkeypatch):
    server = CompanyApi()
    monkeypatch.setenv("COMPANYDATA_AUTH", "Bearer k-123")
    conf = tmp_path / "enrichers.yaml"
    conf.write_text(
        "enrichers:\n"
        "  - name: companydata\n"
        f'    url: "{server.url}/companies/{{email_domain}}"\n'
        "    outputs: {company_size: size.band}\n"
        "    headers_env: {Authorization: COMPANYDATA_AUTH}\n"
    )
    try:
        for api in make_api(database_url, enrichers_file=str(conf)):
            api.publish_model(MODEL)
            r = api.put("/v1/contacts/c1", {"email": "ann@acme.example"})
            assert r.json()["scores"]["prof"]["total"] == 17  # 10 + 7 (company_size large)
            api.put("/v1/contacts/c2", {"email": "bob@other.example"})  # 404: nothing known
            assert _total(api, "c2") == 10
            props = api.get("/v1/contacts/c2").json()["properties"]
            assert "enrichment_pending" not in props
            assert server.calls[0] == ("/companies/acme.example", "Bearer k-123")
    finally:
        server.close()


def test_enrichers_file_errors_say_what_to_fix(tmp_path):
    import pytest

    from leadscore.errors import UsageError
    from leadscore.service.enrichment import load_enrichers

    conf = tmp_path / "e.yaml"
    conf.write_text(
        "enrichers:\n  - {name: x, url: 'http://h/{email}', outputs: {a: b}, tmeout: 1}\n"
    )
    with pytest.raises(UsageError, match=r"enrichers\[0\]: unknown key\(s\) tmeout"):
        load_enrichers(str(conf))
    conf.write_text(
        "enrichers:\n  - {name: x, url: 'http://h/', outputs: {a: b}, headers_env: {A: NOPE}}\n"
    )
    with pytest.raises(UsageError, match="NOPE, which is not set"):
        load_enrichers(str(conf), env={})
    with pytest.raises(UsageError, match="not found"):
        load_enrichers(str(tmp_path / "missing.yaml"))


def test_an_enricher_url_cannot_take_its_host_from_a_contact(tmp_path):
    import pytest

    from leadscore.errors import UsageError
    from leadscore.service.enrichment import load_enrichers

    conf = tmp_path / "e.yaml"
    for url in ("http://{email_domain}/company", "https://api.{company}.example/x",
                "http://h:{port}/x", "{scheme}://h/x"):  # fmt: skip
        conf.write_text(f"enrichers:\n  - {{name: x, url: '{url}', outputs: {{a: b}}}}\n")
        with pytest.raises(UsageError, match="takes its host from a contact property"):
            load_enrichers(str(conf))
    conf.write_text(
        "enrichers:\n  - {name: x, url: 'https://h/c/{email_domain}?q={x}', outputs: {a: b}}\n"
    )
    assert load_enrichers(str(conf))[0].url == "https://h/c/{email_domain}?q={x}"
