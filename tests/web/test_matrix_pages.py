"""The matrix on the web pages, with a store small enough to work out by hand: the
leads list's cell and quadrant filters, the dashboard's counts and links, and the
CSV export's cell columns.

Fit: a business e-mail 30 (letters A from 30, B from 10, else C; A fits). Engagement:
each page view 10 (bands from 20 and from 10, so 1, 2 and 3; band 1 is hot):

* a: business, two views → A1, hot & fitting;
* b: business, one view → A2, fitting but cold;
* c: free, two views → C1, hot but poor fit;
* d: free, no view → C3, cold & poor fit.
"""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from leadscore.service import Service, load_settings, versions
from leadscore.service.schemas import ContactIn, EventIn
from leadscore.web import users

from .helpers import client, sign_in

MODEL = """name: cells
groups:
  fit:
    rules:
      - {name: Business email, when: {email_type: business}, points: 30}
  engagement:
    rules:
      - {name: Views, on: {type: page_view}, points: 10}
grades: {fit: {A: 30, B: 10, else: C}}
matrix: {engagement: engagement, bands: [20, 10]}
"""
VIEWS = {"a": 2, "b": 1, "c": 2, "d": 0}


@pytest.fixture
def web(tmp_path):
    settings = load_settings(
        {
            "database": f"sqlite:///{tmp_path / 's.db'}",
            "sweep_interval": 0,
            "outbox_poll_interval": 0,
        }
    )
    svc = Service(settings)
    draft = versions.create_draft(svc, MODEL, {}, "test")
    versions.publish(svc, "cells", draft["version"], "test", fire_triggers=False)
    kinds = {"a": "business", "b": "business", "c": "free", "d": "free"}
    svc.upsert_contacts(
        [ContactIn(id=cid, properties={"email_type": k}) for cid, k in kinds.items()], "test"
    )
    events = [
        EventIn(contact_id=cid, type="page_view", ts="2026-01-01T00:00:00Z")
        for cid, n in VIEWS.items()
        for _ in range(n)
    ]
    svc.ingest(events, "test")
    with svc.store.write() as conn:
        users.create_user(conn, "viewer@example.com", "a-long-password", "viewer")
    c = client(svc)
    sign_in(c, "viewer")
    return c


def _ids(html: str) -> set[str]:
    return set(re.findall(r'href="/contacts/([a-z])"', html))


def test_the_leads_list_filters_by_quadrant_and_cell(web):
    assert _ids(web.get("/leads").text) == {"a", "b", "c", "d"}
    assert _ids(web.get("/leads", params={"quadrant": "Hot & fitting"}).text) == {"a"}
    assert _ids(web.get("/leads", params={"quadrant": "Hot but poor fit"}).text) == {"c"}
    assert _ids(web.get("/leads", params={"matrix": "C3"}).text) == {"d"}
    assert _ids(web.get("/leads", params={"matrix": "A2", "quadrant": "Hot & fitting"}).text) == (
        set()
    )
    page = web.get("/leads", params={"quadrant": "Fitting but cold"}).text
    assert "<option selected>Fitting but cold</option>" in page


def test_the_dashboard_counts_each_cell_and_quadrant(web):
    page = web.get("/dashboard").text
    assert 'href="/leads?model=cells&amp;matrix=A1"' in page
    counts = {cell: n for n, cell in re.findall(r'aria-label="(\d+) in ([A-C]\d)', page)}
    assert {cell: n for cell, n in counts.items() if n != "0"} == {
        "A1": "1",
        "A2": "1",
        "C1": "1",
        "C3": "1",
    }
    assert len(counts) == 9  # letters A, B, C × bands 1, 2, 3
    quadrants = {
        html.unescape(name): n for n, name in re.findall(r'aria-label="(\d+) ([^":]+): show', page)
    }
    assert quadrants["Hot & fitting"] == "1" and quadrants["Cold & poor fit"] == "1"


def test_the_export_has_each_rows_cell(web):
    r = web.get("/leads.csv", params={"quadrant": "Hot but poor fit"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["contact_id"], x["matrix"], x["quadrant"]) for x in rows] == [
        ("c", "C1", "Hot but poor fit")
    ]
