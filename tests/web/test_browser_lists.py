"""The leads list in headless Chromium: sort by a heading and a second key, page numbers,
Previous/Next, the CSV export of a view; and every page at a phone's 390 px width."""

from __future__ import annotations

import csv
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadscore.store import tables as T

from .conftest import PASSWORDS, Live, sign_in

pytestmark = pytest.mark.browser
MODEL = "b2b-saas"
PHONE = {"width": 390, "height": 844}
S, C = T.scores.c, T.contacts.c


def _scores(live: Live, **where: str) -> list[dict]:
    """The model's scores as the store holds them (the oracle the pages are held to)."""
    with live.service.store.read() as conn:
        query = (
            sa.select(S.contact_id, S.total, S.groups, S.stage, C.properties)
            .select_from(T.scores.join(T.contacts, C.id == S.contact_id))
            .where(S.model_name == MODEL)
        )
        for name, value in where.items():
            query = query.where(getattr(S, name) == value)
        return [r._asdict() for r in conn.execute(query)]


def _fit_then_engagement(rows: list[dict]) -> list[str]:
    """Fit highest first; ties: engagement lowest first; then contact id (descending)."""
    ordered = sorted(rows, key=lambda r: r["contact_id"], reverse=True)
    ordered.sort(key=lambda r: r["groups"].get("engagement", 0))
    ordered.sort(key=lambda r: r["groups"].get("fit", 0), reverse=True)
    return [r["contact_id"] for r in ordered]


def _shown(page) -> list[str]:
    links = page.locator("table.leads tbody td:first-child > a")
    return [h.rsplit("/", 1)[1] for h in links.evaluate_all("els => els.map(e => e.href)")]


def test_sort_by_a_heading_then_a_second_key_and_page_through(new_page, live: Live):
    rows = _scores(live)
    expected = _fit_then_engagement(rows)
    assert len(expected) == 150
    page = new_page("viewer@example.com")
    expect(page.get_by_test_id("lead-count")).to_contain_text("150 leads, 1–50 shown")
    page.locator("table.leads thead a[data-sort=fit]").click()
    page.wait_for_url(re.compile(r"sort=fit"))
    fits = [float(t) for t in page.locator("table.leads tbody td:nth-child(3)").all_inner_texts()]
    assert fits == sorted(fits, reverse=True)
    expect(page.locator("table.leads thead th[aria-sort=descending]")).to_contain_text("Fit")
    page.get_by_label("Ties: then by").select_option("engagement")
    page.get_by_label("order", exact=True).select_option("asc")
    page.wait_for_url(re.compile(r"sort2=engagement.*dir2=asc|dir2=asc.*sort2=engagement"))
    page.wait_for_function(
        "ids => [...document.querySelectorAll('table.leads tbody td:first-child > a')]"
        ".map(a => a.href.split('/').pop()).join() === ids",
        arg=",".join(expected[:50]),
    )
    assert _shown(page) == expected[:50]
    live.shot(page, "leads-sorted")
    # page numbers, then Previous and Next; the sort and the second key stay
    page.get_by_role("link", name="Page 3").click()
    page.wait_for_url(re.compile(r"page=3"))
    assert _shown(page) == expected[100:150]
    expect(page.get_by_test_id("lead-count")).to_contain_text("150 leads, 101–150 shown")
    expect(page.locator(".pager [aria-current=page]")).to_have_text("3")
    assert page.locator(".pager .disabled").inner_text() == "Next →"
    page.get_by_role("link", name="← Previous").click()
    page.wait_for_url(re.compile(r"before="))
    assert _shown(page) == expected[50:100]
    expect(page.get_by_test_id("lead-count")).to_contain_text("51–100 shown")
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url(re.compile(r"after="))
    assert _shown(page) == expected[100:150]
    page.get_by_role("link", name="Page 1").click()
    assert _shown(page) == expected[:50]
    assert page.locator(".pager .disabled").inner_text() == "← Previous"
    # the other published model, in the same order
    page.get_by_role("navigation", name="Published models").get_by_role(
        "link", name="b2b-saas-abm"
    ).click()
    page.wait_for_url(re.compile(r"model=b2b-saas-abm"))
    expect(page.locator("h1")).to_contain_text("by b2b-saas-abm")
    expect(page.locator("table.leads thead th[aria-sort=descending]")).to_contain_text("Fit")
    with live.service.store.read() as conn:
        abm = conn.execute(
            sa.select(S.contact_id, S.groups).where(S.model_name == "b2b-saas-abm")
        ).all()
    assert _shown(page) == _fit_then_engagement([r._asdict() for r in abm])[:50]


def test_export_the_view_as_csv(new_page, live: Live, tmp_path):
    mqls = _scores(live, stage="MQL")
    assert mqls, "the sample has MQLs"
    page = new_page("viewer@example.com")
    page.get_by_label("Stage", exact=True).select_option("MQL")
    page.wait_for_url(re.compile(r"stage=MQL"))
    page.locator("table.leads thead a[data-sort=company]").click()
    page.wait_for_url(re.compile(r"sort=company"))
    expect(page.get_by_test_id("lead-count")).to_contain_text(f"{len(mqls)} lead")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert re.fullmatch(rf"leads-{MODEL}-\d{{8}}-\d{{4}}\.csv", download.suggested_filename)
    path = tmp_path / "mql.csv"
    download.save_as(path)
    with path.open(newline="", encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert [r["contact_id"] for r in exported][: len(_shown(page))] == _shown(page)
    by_id = {r["contact_id"]: r for r in mqls}
    assert sorted(r["contact_id"] for r in exported) == sorted(by_id)
    assert {r["stage"] for r in exported} == {"MQL"}
    for r in exported:  # exact values, not the rounded ones on the page
        assert float(r["total"]) == by_id[r["contact_id"]]["total"]
    companies = [(r["company"].lower() or "\uffff") for r in exported]  # none: last
    assert companies == sorted(companies)


def test_sql_rows_are_highlighted_like_mql_rows(new_page, live: Live):
    page = new_page("viewer@example.com")
    page.goto("/leads?sort=stage")
    sql, mql = page.locator("tr.is-sql").first, page.locator("tr.is-mql").first
    expect(sql).to_be_visible()
    expect(mql).to_be_visible()
    colour = "el => getComputedStyle(el).backgroundColor"
    plain = page.locator("tr[data-stage=lead]").first.evaluate(colour)
    assert sql.evaluate(colour) not in (plain, mql.evaluate(colour))


def _pages(live: Live) -> list[str]:
    with live.service.store.read() as conn:
        contact = conn.execute(
            sa.select(S.contact_id).where(S.model_name == MODEL).order_by(S.total.desc()).limit(1)
        ).scalar_one()
        account = conn.execute(
            sa.select(T.account_scores.c.account_id)
            .order_by(T.account_scores.c.total.desc())
            .limit(1)
        ).scalar_one()
        versions = conn.execute(
            sa.select(T.model_versions.c.version)
            .where(T.model_versions.c.name == MODEL)
            .order_by(T.model_versions.c.version)
        ).scalars()
        numbers = list(versions)
    return [
        "/leads",
        "/leads?sort=company&page=2",
        f"/contacts/{contact}",
        "/accounts",
        f"/accounts/{account}",
        "/dashboard",
        "/models",
        f"/models/edit?name={MODEL}",
        f"/models/{MODEL}/versions/{numbers[-1]}",
        f"/models/{MODEL}/diff?a={numbers[0]}&b={numbers[-1]}",
        f"/backtest?name={MODEL}",
        "/settings",
        "/import",
        "/contacts/no-such-contact",
    ]


WIDTH = "() => document.documentElement.scrollWidth"
# The element whose right edge is furthest out, to say what overflows when a page does.
WIDEST = """() => { let worst = null, right = 0;
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > right && getComputedStyle(el).position !== 'fixed') {
      right = r.right; worst = el;
    }
  }
  if (!worst) return '';
  return `${worst.tagName.toLowerCase()}.${worst.className} ends at ${Math.round(right)} px`;
}"""


def test_every_page_fits_a_390px_phone(browser, live: Live):
    context = browser.new_context(viewport=PHONE, base_url=live.url, device_scale_factor=1)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/login")
        assert page.evaluate(WIDTH) <= 390, page.evaluate(WIDEST)
        live.shot(page, "phone-login")
        sign_in(page, "admin@example.com", PASSWORDS["admin@example.com"])
        for path in _pages(live):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            if path.startswith("/backtest"):  # the report, statistics opened: tables, charts
                page.get_by_role("button", name="Run backtest").click()
                page.locator(".report .plain-words").wait_for(timeout=30_000)
                page.locator("details.statistics > summary").click()
                page.locator("table.metrics").wait_for()
            name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
            shot = live.shot(page, f"phone-{name}", full=True)
            assert page.evaluate(WIDTH) <= 390, f"{path}: {page.evaluate(WIDEST)}"
            # the screenshot is the page's own width: nothing drawn beyond the screen
            assert _png_width(shot) <= 390, path
            # every link of the navigation is on the screen, none cut off
            for box in page.locator("header.top nav a").evaluate_all(
                "els => els.map(e => e.getBoundingClientRect().right)"
            ):
                assert 0 < box <= 390, path
        # the leads table is wider than a phone: it scrolls inside its box
        page.goto("/leads")
        inner = page.locator(".table-scroll").evaluate("el => [el.scrollWidth, el.clientWidth]")
        assert inner[0] > inner[1] and inner[1] <= 390
        expect(page.get_by_role("link", name="Export CSV")).to_be_in_viewport()
        live.shot(page, "phone")  # one screen, for the documentation
    finally:
        context.close()


def _png_width(path) -> int:
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big")
