"""The fit × engagement matrix in headless Chromium: the dashboard counts contacts per
cell and quadrant, a click on a cell or a quadrant opens the leads list filtered by it,
and the leads list's quadrant filter keeps exactly the contacts of that quadrant."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadscore.engine import spine
from leadscore.store import tables as T

from .conftest import Live

pytestmark = pytest.mark.browser
MODEL = "b2b-saas"
S = T.scores.c


def _cells(live: Live) -> dict[str, tuple[str, str]]:
    """Each contact's cell and quadrant, worked out from its stored group scores by the
    published model's matrix (the oracle the pages are held to)."""
    with live.service.store.read() as conn:
        (pub,) = [p for p in live.service.published(conn) if p.name == MODEL]
        rows = conn.execute(sa.select(S.contact_id, S.groups).where(S.model_name == MODEL)).all()
    out = {}
    for cid, groups in rows:
        cell = spine.matrix_of(pub.model, groups)
        assert cell is not None, "the example model declares a matrix"
        out[cid] = cell
    return out


def _shown(page) -> list[str]:
    links = page.locator("table.leads tbody td:first-child > a")
    return [h.rsplit("/", 1)[1] for h in links.evaluate_all("els => els.map(e => e.href)")]


def test_quadrant_filter_keeps_that_quadrant_only(new_page, live: Live):
    cells = _cells(live)
    quadrant = "Hot & fitting"
    want = sorted(cid for cid, (_, q) in cells.items() if q == quadrant)
    assert 0 < len(want) < len(cells), "the sample has contacts in and out of the quadrant"
    page = new_page("viewer@example.com")
    page.goto("/leads")
    page.get_by_label("Quadrant").select_option(quadrant)
    page.wait_for_url(re.compile(r"quadrant=Hot"))
    count = page.get_by_test_id("lead-count")
    expect(count).to_contain_text(f"{len(want)} lead")
    shown = set(_shown(page))
    while page.get_by_role("link", name="Next").count():
        page.get_by_role("link", name="Next").first.click()
        page.wait_for_load_state()
        shown |= set(_shown(page))
    assert sorted(shown) == want
    # another quadrant: the list changes to its contacts
    page.get_by_label("Quadrant").select_option("Cold & poor fit")
    page.wait_for_url(re.compile(r"quadrant=Cold"))
    cold = sorted(cid for cid, (_, q) in cells.items() if q == "Cold & poor fit")
    expect(count).to_contain_text(f"{len(cold):,} lead")
    assert set(_shown(page)) <= set(cold)


def test_dashboard_matrix_counts_and_links_to_the_cell(new_page, live: Live):
    cells = _cells(live)
    per_cell: dict[str, int] = {}
    for cell, _ in cells.values():
        per_cell[cell] = per_cell.get(cell, 0) + 1
    busiest = max(sorted(per_cell), key=lambda c: per_cell[c])
    page = new_page("viewer@example.com")
    page.goto("/dashboard")
    card = page.locator("#matrix-card")
    expect(card).to_be_visible()
    # 4 letters × 4 bands, each the stored count
    links = card.locator("td.matrix-cell a")
    expect(links).to_have_count(16)
    link = card.locator(f"a[href*='matrix={busiest}']")
    expect(link).to_have_text(str(per_cell[busiest]))
    hot = page.locator("#quadrant-card a", has_text="Hot & fitting")
    n_hot = sum(1 for _, q in cells.values() if q == "Hot & fitting")
    expect(hot.locator(".kpi")).to_have_text(f"{n_hot:,}")
    link.click()
    page.wait_for_url(re.compile(rf"/leads\?.*matrix={busiest}"))
    expect(page.get_by_test_id("lead-count")).to_contain_text(f"{per_cell[busiest]} lead")
    expect(page.get_by_label("Matrix cell")).to_have_value(busiest)
    want = {cid for cid, (cell, _) in cells.items() if cell == busiest}
    assert set(_shown(page)) <= want
