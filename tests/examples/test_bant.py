"""Golden breakdowns for examples/bant.yaml, worked out by hand from the model."""

from __future__ import annotations

import pytest

from leadscore import load_model, score_contact

from ..conftest import EXAMPLES
from .helpers import AS_OF, event, points


@pytest.fixture(scope="module")
def model():
    return load_model(EXAMPLES / "bant.yaml")


def test_ready_buyer_is_sql(model):
    contact = {"id": "a", "budget": "60000", "employees": "250", "job_title": "VP Sales",
               "industry": "Software"}  # fmt: skip
    events = [
        event(1, "page_view", 2, url="/pricing"),
        event(2, "page_view", 10, url="/pricing"),
        event(3, "page_view", 100, url="/pricing"),  # outside the 90-day window
        event(4, "asset_download", 60, asset_id="ebook"),
        event(5, "asset_download", 120, asset_id="ebook"),  # same asset: the latest counts
        event(6, "webinar_attended", 0),
        event(7, "page_view", 1, url="/product"),
        event(8, "page_view", 2, url="/features"),
        event(9, "page_view", 3, url="/integrations"),
        event(10, "form_submit", 20, form_id="demo"),
    ]
    r = score_contact(model, contact, events, as_of=AS_OF)
    assert points(r) == {
        "Stated budget": 20,  # ≥ 50,000
        "Company can afford it": 5,  # ≥ 100 employees
        "Checked the price": 4,  # 2 views in 90 days × 2
        "Role": 18,  # VP
        "Target industry": 5,
        "Downloaded content": 2,  # 4 × 0.5: one half-life (60 days) old
        "Attended a webinar": 8,  # today: no decay
        "Studied the product": 5,  # 3 product pages in 30 days
        "Asked for a demo": 15,  # 25 × 0.6: 20 days old, in the 14–45 day step
        "Busy fortnight": 8,  # 5 page views in 14 days
    }
    assert r.groups == {"budget": 25, "authority": 18, "need": 20, "timeline": 23}  # 29 → 25
    assert r.total == 86
    assert (r.grade, r.stage, r.excluded) == ("A", "SQL", False)
    downloads = next(h for h in r.breakdown if h.rule == "Downloaded content")
    assert downloads.matched == 1 and downloads.points_raw == 4


def test_high_total_without_timeline_is_only_mql(model):
    contact = {"id": "b", "budget": "100000", "employees": "5000", "job_title": "CEO",
               "industry": "Healthcare"}  # fmt: skip
    events = [event(i, "email_click", i, email_id="nl") for i in range(1, 5)]
    events.append(event(9, "webinar_attended", 120))  # two half-lives: 8 × 0.25
    r = score_contact(model, contact, events, as_of=AS_OF)
    assert r.groups == {"budget": 25, "authority": 25, "need": 7, "timeline": 8}
    assert r.total == 65
    # total ≥ 50 but need 7 < 8 and timeline 8 < 15: not BANT-qualified
    assert (r.grade, r.stage) == ("A", "MQL")


def test_quiet_job_seeker_stays_at_the_floor(model):
    contact = {"id": "c", "budget": "500", "employees": "20", "job_title": "Software Engineer",
               "industry": "Retail"}  # fmt: skip
    events = [
        event(1, "page_view", 100, url="/careers"),
        event(2, "page_view", 200, url="/careers"),
        event(3, "page_view", 200, url="/pricing"),
    ]
    r = score_contact(model, contact, events, as_of=AS_OF)
    assert points(r) == {"Role": 3, "Job hunting": -10, "Gone quiet": -10}
    # need -10 and timeline -10 are held at the groups' floor of 0
    assert r.groups == {"budget": 0, "authority": 3, "need": 0, "timeline": 0}
    assert (r.total, r.grade, r.stage) == (3, "C", "lead")


def test_unknown_contact_scores_zero(model):
    r = score_contact(model, {"id": "d"}, [], as_of=AS_OF)
    assert r.groups == {"budget": 0, "authority": 0, "need": 0, "timeline": 0}
    assert (r.total, r.grade, r.stage, r.rules_fired) == (0, "D", "lead", 0)


def test_unsubscribed_intern_is_excluded(model):
    contact = {"id": "e", "job_title": "Marketing Intern", "budget": "80000"}
    r = score_contact(model, contact, [event(1, "unsubscribe", 5)], as_of=AS_OF)
    assert r.excluded and r.exclusion_reasons == ("Unsubscribed", "Student or intern")
    assert r.groups["budget"] == 20 and r.groups["authority"] == 3
    assert (r.total, r.stage) == (0, None)
