"""The contact page in headless Chromium: the story of a lead, and an adjustment refused
at the form."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadscore.store import tables as T

from .conftest import Live

pytestmark = pytest.mark.browser
MODEL = "b2b-saas"


def _busiest_contact(live: Live) -> str:
    """The sample contact with the most page views (so its timeline has points)."""
    with live.service.store.read() as conn:
        return conn.execute(
            sa.select(T.events.c.contact_id)
            .where(T.events.c.type == "page_view")
            .group_by(T.events.c.contact_id)
            .order_by(sa.func.count().desc(), T.events.c.contact_id.desc())
            .limit(1)
        ).scalar_one()


def test_the_history_reads_as_a_timeline_with_points_in_the_chart(new_page, live: Live):
    cid = _busiest_contact(live)
    page = new_page("viewer@example.com")
    page.goto(f"/contacts/{cid}")
    card = page.get_by_role("region", name=re.compile(rf"^{MODEL} v\d+$"))
    timeline = card.get_by_role("list", name="History")
    expect(timeline).to_be_visible()
    lines = timeline.locator("li").all_inner_texts()
    visits = [line for line in lines if re.search(r"[+−]\d+(\.\d)?\s+Visited /", line)]
    assert visits, lines  # "+1 Visited /product (Page views)"
    assert all(re.search(r"\((Page views|Pricing page|Careers page)", v) for v in visits)
    first = timeline.locator("li time").first
    assert re.match(r"(today|yesterday|\d{1,2} \w{3}) ", first.inner_text())
    assert re.match(r"\d{4}-\d\d-\d\dT", first.get_attribute("datetime"))
    # the chart's ticks say what each event added
    ticks = card.locator("svg.chart rect title").all_text_contents()
    assert any(re.search(r": [+−]\d+(\.\d)? Visited /", t) for t in ticks), ticks[:5]
    # the breakdown ends each group with its subtotal, and the model with its total
    subtotals = card.locator("table.breakdown tr.subtotal th").all_inner_texts()
    assert subtotals[:2] == ["fit", "engagement"] and subtotals[-1] == "Total"
    live.shot(page, "contact-timeline", full=True)


def test_a_zero_point_adjustment_is_refused_at_the_form_keeping_the_text(new_page, live: Live):
    cid = _busiest_contact(live)
    page = new_page("editor@example.com")
    page.goto(f"/contacts/{cid}")
    total = page.locator(f"[data-testid=total].total-{MODEL}")
    before = total.inner_text()
    page.get_by_label("Points").fill("0")
    page.get_by_label("Reason").fill("Called, nothing new")
    page.get_by_role("button", name="Add adjustment").click()
    alert = page.locator("#adj-error")
    expect(alert).to_have_text(re.compile("0 points changes nothing"))
    expect(page.get_by_label("Points")).to_have_value("0")
    expect(page.get_by_label("Reason")).to_have_value("Called, nothing new")
    expect(page.get_by_label("Points")).to_have_attribute("aria-invalid", "true")
    assert total.inner_text() == before
    # fixing the number is enough: the reason is still there
    page.get_by_label("Points").fill("-5")
    page.get_by_role("button", name="Add adjustment").click()
    expect(page.locator("#adj-error")).to_have_count(0)
    adjustments = page.locator(
        "section.card", has=page.get_by_role("heading", name="Manual adjustments")
    )
    first = adjustments.locator("tbody tr").first
    expect(first).to_contain_text("Called, nothing new")
    expect(first.locator("td").nth(1)).to_have_text("−5")
    expect(first.locator("time")).to_have_text(re.compile(r"^today \d\d:\d\d$"))
    story = page.get_by_role("region", name=re.compile(rf"^{MODEL} v\d+$")).locator("ol.timeline")
    expect(story).to_contain_text("Adjusted by editor@example.com: Called, nothing new")
    live.shot(page, "contact-adjustment", full=True)
