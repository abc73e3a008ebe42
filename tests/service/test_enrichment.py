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
