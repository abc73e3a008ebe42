"""The accounts pages over HTTP: the list best first, an account's page with its
contacts and what each gave it, and the contact page's link to its account."""

from __future__ import annotations

import re

import pytest

from leadscore.service import versions
from leadscore.service.schemas import AccountIn, ContactIn, EventIn

from .helpers import client, sign_in, tiny_service

ABM = """name: tiny
groups:
  fit:
    rules:
      - {name: Business email, when: {email_type: business}, points: 20}
      - {name: At an A account, when: {account.grade: A}, points: 5}
  engagement:
    rules:
      - {name: Visits, on: {type: page_view}, points: 10}
thresholds:
  - stage: MQL
    when: {total: {gte: 20}}
default_stage: lead
account:
  groups:
    fit: {rules: [{name: Software, when: {industry: Software}, points: 30}]}
    team: {rules: [{name: Team, rollup: sum, of: engagement}]}
  grades: {fit: {A: 30}}
  thresholds: [{stage: MQA, when: {total: {gte: 50}}}]
"""


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    svc = tiny_service(f"sqlite:///{tmp_path_factory.mktemp('acc') / 'store.db'}")
    svc.upsert_accounts(
        [
            AccountIn(
                id="acme",
                domain="acme.example",
                properties={"name": "Acme", "industry": "Software"},
            ),
            AccountIn(id="beta", domain="beta.example", properties={"name": "Beta"}),
        ],
        "test",
    )
    svc.upsert_contacts(
        [
            ContactIn(id="a", email="a@acme.example"),
            ContactIn(id="c", email="c@acme.example"),
            ContactIn(id="b", email="b@beta.example"),
        ],
        "test",
    )
    draft = versions.create_draft(svc, ABM, {}, "test")
    versions.publish(svc, "tiny", draft["version"], "test", fire_triggers=False)
    svc.ingest(
        [EventIn(contact_id="a", type="page_view"), EventIn(contact_id="a", type="page_view")],
        "test",
    )
    svc.ingest([EventIn(contact_id="c", type="page_view")], "test")
    c = client(svc)
    sign_in(c, "viewer")
    yield c
    svc.store.dispose()


def test_accounts_list_is_best_first_and_filters(viewer):
    page = viewer.get("/accounts")
    assert page.status_code == 200
    assert re.findall(r'<a href="/accounts/([^"]+)">', page.text) == ["acme", "beta"]
    assert 'Accounts <span class="muted small">by tiny v2' in page.text
    # acme: fit 30 + the team's 20 + 10 = 60, an MQA
    assert '<td class="num total" title="60.0">60</td>' in page.text  # exact value on hover
    only = viewer.get("/accounts", params={"stage": "MQA"}).text
    assert re.findall(r'<a href="/accounts/([^"]+)">', only) == ["acme"]
    found = viewer.get("/accounts", params={"q": "beta"}).text
    assert re.findall(r'<a href="/accounts/([^"]+)">', found) == ["beta"]
    assert 'aria-current="page">Accounts' in page.text


def test_an_account_page_shows_its_contacts_and_what_each_gave(viewer):
    page = viewer.get("/accounts/acme")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Acme</h1>" in text and "acme.example" in text
    # the biggest contributor first: a gave 20, c gave 10
    contacts = re.findall(r'<a href="/contacts/([^"]+)">', text.split('id="acontacts-h"')[1])
    assert contacts[:2] == ["a", "c"]
    assert re.findall(r'data-testid="contribution">([^<]+)<', text) == ["+20.0", "+10.0"]
    assert "sum of engagement over 2 contact(s)" in text
    assert "<svg viewBox" in text  # the total over time
    assert "event" in text.split('id="ahist-h"')[1]


def test_the_contact_page_links_to_its_account(viewer):
    assert '<a href="/accounts/acme">acme</a>' in viewer.get("/contacts/a").text


def test_an_unknown_account_is_a_page_that_says_so(viewer):
    page = viewer.get("/accounts/nope")
    assert page.status_code == 404
    assert "no account &#39;nope&#39;" in page.text or "no account 'nope'" in page.text
    assert viewer.get("/accounts", params={"offset": "x"}).status_code == 422


def test_without_a_model_scoring_accounts_the_page_says_how(tmp_path):
    svc = tiny_service(f"sqlite:///{tmp_path / 'store.db'}")
    c = client(svc)
    sign_in(c, "viewer")
    page = c.get("/accounts")
    assert page.status_code == 200 and "No published model scores accounts" in page.text
    svc.store.dispose()
