"""In headless Chromium: one score per published model on the contact page, the default
model (chosen in settings) first, and trigger tags on the leads list and contact page.

Two models score the tiny store: ``tiny`` (a business e-mail gives 20; MQL from 20)
and ``hot`` (a business e-mail gives 90; its trigger "Over 80" tags contacts over 80
"Hot" in red). Contacts a and c have business e-mails, b a free one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from leadscore.service import versions
from leadscore.web import users

from .conftest import Live, pages, serve
from .helpers import PASSWORD, tiny_service

pytestmark = pytest.mark.browser

HOT = """name: hot
groups:
  fit:
    rules:
      - {name: Business email, when: {email_type: business}, points: 90}
thresholds:
  - {stage: SQL, when: {total: {gte: 80}}}
default_stage: lead
triggers:
  - name: Over 80
    on: {crosses: {score: total, above: 80}}
    tag: Hot
    colour: "#dc2626"
"""
RED = "rgb(220, 38, 38)"


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("models")
    svc = tiny_service(f"sqlite:///{folder / 'store.db'}")
    draft = versions.create_draft(svc, HOT, {}, "test")
    versions.publish(svc, "hot", draft["version"], "test", fire_triggers=False)
    try:
        with serve(svc, folder) as running:
            yield running
    finally:
        svc.store.dispose()


@pytest.fixture
def open_page(browser, two_models: Live):
    yield from pages(browser, two_models, {f"{r}@example.com": PASSWORD for r in users.ROLES})


def _models_listed(page) -> list[str]:
    return page.locator("[data-testid=model-scores] li").evaluate_all(
        "items => items.map(li => li.dataset.model)"
    )


def test_each_model_scores_apart_and_the_default_model_comes_first(open_page, two_models):
    page = open_page("admin@example.com")
    page.goto("/contacts/a")
    # with no default model chosen, the models come by name: hot, then tiny
    assert _models_listed(page) == ["hot", "tiny"]
    first_before, other = "hot", "tiny"

    page.goto("/settings")
    page.get_by_label("Show first").select_option(other)
    page.get_by_role("button", name="Save default model").click()
    expect(page.get_by_label("Show first")).to_have_value(other)

    page.goto("/contacts/a")
    assert _models_listed(page) == [other, first_before]
    cards = page.locator("section.card[data-model]")
    assert cards.evaluate_all("cs => cs.map(c => c.dataset.model)") == [other, first_before]
    hot = page.get_by_role("region", name=re.compile(r"^hot v\d+$"))
    expect(hot.locator("[data-testid=total]")).to_have_text("90")
    expect(
        page.get_by_role("region", name=re.compile(r"^tiny v\d+$")).locator("[data-testid=total]")
    ).to_have_text("20")
    tag = hot.locator("[data-testid=trigger-tag]")
    expect(tag).to_have_text("Hot")
    assert tag.evaluate("t => getComputedStyle(t).backgroundColor") == RED
    expect(
        page.get_by_role("region", name=re.compile(r"^tiny v\d+$")).locator(
            "[data-testid=trigger-tag]"
        )
    ).to_have_count(0)
    two_models.shot(page, "contact-two-models", full=True)

    # the leads list opens with the default model, listed first among the models
    page.goto("/leads")
    switch = page.get_by_role("navigation", name="Published models").locator("a")
    expect(switch.first).to_have_text(other)
    expect(switch.first).to_have_attribute("aria-current", "true")


def test_the_leads_list_tags_and_colours_the_rows_a_trigger_fired_for(open_page, two_models):
    page = open_page("viewer@example.com")
    page.goto("/leads?model=hot")
    rows = page.locator("table.leads tbody tr")
    expect(rows).to_have_count(3)
    tagged = page.locator("table.leads tbody tr.is-tagged")
    assert sorted(
        tagged.evaluate_all("rs => rs.map(r => r.querySelector('a').getAttribute('href'))")
    ) == ["/contacts/a", "/contacts/c"]
    for i in range(tagged.count()):
        row = tagged.nth(i)
        expect(row.locator("[data-testid=trigger-tag]")).to_have_text("Hot")
        assert row.get_attribute("data-tags") == "Hot"
        colour = row.locator("td.total").evaluate("t => getComputedStyle(t).color")
        assert colour == RED
    plain = page.locator("table.leads tbody tr:not(.is-tagged)")
    expect(plain).to_have_count(1)
    expect(plain.locator("[data-testid=trigger-tag]")).to_have_count(0)
    # under tiny, which has no tagged trigger, nobody is tagged
    page.goto("/leads?model=tiny")
    expect(page.locator("table.leads tbody tr.is-tagged")).to_have_count(0)
    two_models.shot(page, "leads-tags")
