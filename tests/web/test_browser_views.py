"""Saved views of the leads list in headless Chromium: save the filters and order under a
name, open the view again from a cleared list, export it as CSV, delete it."""

from __future__ import annotations

import csv
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadscore.store import tables as T

from .conftest import Live

pytestmark = pytest.mark.browser
MODEL = "b2b-saas"
S, C = T.scores.c, T.contacts.c


def _mqls_by_company(live: Live) -> list[str]:
    """The sample's MQLs by company (A–Z, no company last), ties by contact id in the same
    direction: the order the list and its export promise."""
    with live.service.store.read() as conn:
        rows = conn.execute(
            sa.select(S.contact_id, C.properties)
            .select_from(T.scores.join(T.contacts, C.id == S.contact_id))
            .where(S.model_name == MODEL, S.stage == "MQL")
        ).all()

    def key(r):
        company = (r.properties or {}).get("company")
        return (company is None, (company or "").lower(), r.contact_id)

    return [r.contact_id for r in sorted(rows, key=key)]


def _shown(page) -> list[str]:
    links = page.locator("table.leads tbody td:first-child > a")
    return [h.rsplit("/", 1)[1] for h in links.evaluate_all("els => els.map(e => e.href)")]


def test_save_a_view_reopen_it_export_it_and_delete_it(new_page, live: Live, tmp_path):
    expected = _mqls_by_company(live)
    assert expected, "the sample has MQLs"
    page = new_page("viewer@example.com")
    page.get_by_label("Stage", exact=True).select_option("MQL")
    page.wait_for_url(re.compile(r"stage=MQL"))
    page.locator("table.leads thead a[data-sort=company]").click()
    page.wait_for_url(re.compile(r"sort=company"))
    page.get_by_label("Name of the view").fill("MQLs by company")
    page.get_by_role("button", name="Save view").click()
    views = page.get_by_role("region", name="Saved views")
    expect(views.get_by_role("link", name="MQLs by company", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    # from a cleared list, the view brings back its filters and order
    page.get_by_role("link", name="Clear").click()
    page.wait_for_url(re.compile(r"/leads$"))
    expect(page.get_by_test_id("lead-count")).to_contain_text("150 leads")
    page.get_by_role("region", name="Saved views").get_by_role(
        "link", name="MQLs by company", exact=True
    ).click()
    page.wait_for_url(re.compile(r"stage=MQL"))
    expect(page.get_by_test_id("lead-count")).to_contain_text(f"{len(expected)} lead")
    expect(page.get_by_label("Stage", exact=True)).to_have_value("MQL")
    expect(page.locator("table.leads thead th[aria-sort=ascending]")).to_contain_text("Company")
    assert _shown(page) == expected[:50]
    live.shot(page, "leads-saved-view")
    # the view's CSV: every row of the view, in its order
    with page.expect_download() as info:
        page.get_by_role("link", name="Export MQLs by company as CSV").click()
    path = tmp_path / "view.csv"
    info.value.save_as(path)
    with path.open(newline="", encoding="utf-8") as fh:
        assert [r["contact_id"] for r in csv.DictReader(fh)] == expected
    page.get_by_role("button", name="Delete MQLs by company").click()
    page.wait_for_url(re.compile(r"/leads$"))
    expect(page.get_by_role("region", name="Saved views")).to_contain_text("No saved view yet")
