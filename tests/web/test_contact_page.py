"""The contact page tells the story: a timeline with the points of each event, the
breakdown with group subtotals and cap lines, readable labels, numbers and times, and
manual adjustments checked at the form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from leadscore.service import Service, load_settings, versions
from leadscore.service.schemas import ContactIn, EventIn
from leadscore.web import users
from leadscore.web.base import moment, signed

from .helpers import PASSWORD, client, sign_in

# fit: 10 + 10 held at the group's max 15. Each pricing visit +10; 30 days without an
# event: -20. MQL from 30.
STORY_MODEL = """name: story
scale: {min: 0, max: 100}
groups:
  fit:
    max: 15
    rules:
      - name: Business email
        when: {email_type: business}
        points: 10
      - name: Known country
        when: {country: FR}
        points: 10
  engagement:
    rules:
      - name: Pricing page
        on: {type: page_view, url: {contains: /pricing}}
        points: 10
        max_points: 20
      - name: Gone quiet
        inactive_for: 30d
        points: -20
thresholds:
  - stage: MQL
    when: {total: {gte: 30}}
default_stage: lead
"""
NOW = datetime.now(UTC).replace(microsecond=0)


def story_service(url: str, **settings: object) -> Service:
    svc = Service(
        load_settings({"database": url, "sweep_interval": 0, "outbox_poll_interval": 0, **settings})
    )
    props = {
        "email_type": "business",
        "country": "FR",
        "job_title": "Head of Sales",
        "email": "ada@example.com",
        "signed_up_at": "2026-01-03T14:30:00+00:00",
    }
    svc.upsert_contacts(
        [
            ContactIn(id="ada", email="ada@example.com", properties=props),
            ContactIn(id="bob", email="bob@example.com", properties={"email_type": "free"}),
            ContactIn(id="cyd", properties={}),
        ],
        "test",
    )
    draft = versions.create_draft(svc, STORY_MODEL, {}, "test")
    versions.publish(svc, "story", draft["version"], "test", fire_triggers=False)
    visits = [NOW - timedelta(days=50), NOW - timedelta(days=45)]
    svc.ingest(
        [
            EventIn(contact_id="ada", type="page_view", ts=ts, attributes={"url": "/pricing"})
            for ts in visits
        ]
        + [
            EventIn(contact_id="cyd", type=kind, ts=NOW - timedelta(days=days), attributes=attrs)
            for kind, days, attrs in (
                ("page_view", 3, {"url": "/pricing"}),
                ("page_view", 2, {"url": "/pricing"}),
                ("page_view", 1, {"url": "/pricing?plan=pro"}),
                ("form_submit", 0.5, {"url": "/contact", "form_id": "demo"}),
            )
        ],
        "test",
    )
    with svc.store.write() as conn:
        for role in users.ROLES:
            users.create_user(conn, f"{role}@example.com", PASSWORD, role)
    return svc


@pytest.fixture
def story(tmp_path) -> Service:
    svc = story_service(f"sqlite:///{tmp_path / 'story.db'}")
    yield svc
    svc.store.dispose()


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def _timeline(html: str) -> list[str]:
    block = re.search(r'<ol class="timeline".*?</ol>', html, re.S).group(0)
    return [_text(li) for li in re.findall(r"<li.*?</li>", block, re.S)]


def test_the_history_reads_like_a_timeline_with_the_points_of_each_event(story):
    c = client(story)
    sign_in(c, "viewer")
    html = c.get("/contacts/ada").text
    lines = [re.sub(r"^(today|yesterday|\d+ \w+) \S+ ", "", line) for line in _timeline(html)]
    # newest first: the quiet spell 30 days after the last visit, then the visits
    assert lines == [
        "left MQL, back to lead",
        "−20 Gone quiet",
        "entered MQL",
        "+10 Visited /pricing (Pricing page)",
        "+10 Visited /pricing (Pricing page)",
        "+15 From the profile (Business email +10, Known country +10)",
    ]
    quiet = NOW - timedelta(days=15)
    assert f'datetime="{quiet.isoformat()}"' in html
    # the chart's ticks carry the same points
    second = (NOW - timedelta(days=45)).strftime("%Y-%m-%d %H:%M")
    assert f"<title>{second}: +10 Visited /pricing (Pricing page)</title>" in html
    assert "Gone quiet</title>" in html and ": −20 Gone quiet</title>" in html


def test_an_event_past_a_rules_cap_says_so(story):
    c = client(story)
    sign_in(c, "viewer")
    html = c.get("/contacts/cyd").text
    lines = [re.sub(r"^(today|yesterday|\d+ \w+) \S+ ", "", line) for line in _timeline(html)]
    assert lines == [
        "0 Submitted form demo",
        "0 Visited /pricing?plan=pro (Pricing page at its cap)",
        "+10 Visited /pricing (Pricing page)",
        "+10 Visited /pricing (Pricing page)",
    ]


def test_the_breakdown_has_group_subtotals_and_cap_lines(story):
    c = client(story)
    sign_in(c, "viewer")
    html = c.get("/contacts/ada").text
    table = re.search(r'<table class="grid-table breakdown">.*?</table>', html, re.S).group(0)
    text = _text(table)
    assert "held at the group's max 15: the rules add 20.0" in text
    # fit 15, engagement 10 + 10 - 20 = 0, total 15: whole numbers shown bare
    assert "fit 15" in text and "engagement 0" in text and "Total 15" in text
    assert re.search(r'<td class="num" title="15.0"><strong>15</strong>', table)
    assert 'data-testid="total" title="15.0">15<' in html


def test_profile_fields_have_readable_labels(story):
    c = client(story)
    sign_in(c, "viewer")
    html = c.get("/contacts/ada").text
    assert '<dt title="property job_title">Job title</dt><dd>Head of Sales</dd>' in html
    profile = html.split('id="profile-h"')[1].split("</dl>")[0]
    assert profile.count("ada@example.com") == 1  # the contact's e-mail, not twice
    assert "<dt>E-mail</dt><dd>ada@example.com</dd>" in profile
    signed_up = moment(datetime(2026, 1, 3, 14, 30, tzinfo=UTC))
    assert (
        '<dt title="property signed_up_at">Signed up at</dt>'
        f'<dd title="2026-01-03T14:30:00+00:00">{signed_up}</dd>'
    ) in profile


def test_test_on_a_contact_takes_an_email_as_well_as_an_id(story):
    c = client(story)
    token = sign_in(c, "editor")
    by_id = c.post("/models/story/versions/1/test", data={"contact_id": "ada", "csrf": token})
    by_email = c.post(
        "/models/story/versions/1/test", data={"contact_id": "Ada@Example.com", "csrf": token}
    )
    assert by_id.status_code == by_email.status_code == 200
    assert 'data-testid="test-total">15.0<' in by_email.text
    assert "<strong>ada</strong> would score" in by_email.text
    nobody = c.post(
        "/models/story/versions/1/test", data={"contact_id": "nobody@example.com", "csrf": token}
    )
    assert nobody.status_code == 404 and "its e-mail address" in nobody.text


def _total(svc: Service, cid: str) -> float:
    import sqlalchemy as sa

    from leadscore.store import tables as T

    with svc.store.read() as conn:
        return conn.execute(
            sa.select(T.scores.c.total).where(T.scores.c.contact_id == cid)
        ).scalar_one()


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("0", "0 points changes nothing"),
        ("150", "points must be between -100 and 100, got 150"),
        ("-100.5", "points must be between -100 and 100, got -100.5"),
        ("nan", "points must be a number such as 10 or -5, got &#39;nan&#39;"),
    ],
)
def test_a_refused_adjustment_is_explained_at_the_form_with_the_typed_text(story, points, message):
    c = client(story)
    token = sign_in(c, "editor")
    reason = "Met at the fair & said <yes>"
    r = c.post(
        "/contacts/bob/adjustments",
        data={"points": points, "reason": reason, "csrf": token},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422
    form_part = r.text.split('<h2 id="adj-h">')[1]
    assert message in form_part.split("<form")[0]  # the message sits above the form
    assert 'name="points" type="number"' in form_part
    assert f'value="{points}"' in form_part
    assert 'value="Met at the fair &amp; said &lt;yes&gt;"' in form_part
    assert _total(story, "bob") == 0.0


def test_a_refused_adjustment_without_htmx_shows_the_whole_page_again(story):
    c = client(story)
    token = sign_in(c, "editor")
    r = c.post(
        "/contacts/bob/adjustments",
        data={"points": "0", "reason": "kept", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 422
    assert "<title>bob@example.com · leadscore</title>" in r.text
    assert "0 points changes nothing" in r.text and 'value="kept"' in r.text


def test_the_bound_on_adjustments_is_a_setting(tmp_path):
    svc = story_service(f"sqlite:///{tmp_path / 'b.db'}", max_adjustment_points=250)
    c = client(svc)
    token = sign_in(c, "editor")
    ok = c.post(
        "/contacts/bob/adjustments",
        data={"points": "-2.25", "reason": "cooling", "csrf": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert _total(svc, "bob") == 0.0  # held at the scale's floor
    page = c.get("/contacts/bob").text
    assert 'max="250"' in page and "Between -250 and 250 points, not 0." in page
    row = re.search(r"<tr><td><time[^>]*>([^<]+)</time></td><td[^>]*>([^<]+)</td>", page)
    assert row.group(1).startswith("today ") and row.group(2) == "−2.2"
    assert "held at the scale&#39;s min 0: the groups add -2.2" in page
    svc.store.dispose()


def test_numbers_and_times_are_written_for_people():
    assert [signed(v) for v in (10, -20, 0.04, 2.25, -0.5)] == ["+10", "−20", "0", "+2.2", "−0.5"]
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert moment(datetime(2026, 3, 10, 9, 5, tzinfo=UTC), now) == "today 09:05"
    assert moment(datetime(2026, 3, 9, 23, 59, tzinfo=UTC), now) == "yesterday 23:59"
    assert moment(datetime(2026, 1, 3, 14, 30, tzinfo=UTC), now) == "3 Jan 14:30"
    assert moment(datetime(2025, 12, 31, 14, 30, tzinfo=UTC), now) == "31 Dec 2025"
    assert moment(None, now) == "never"


def test_the_leads_search_finds_a_contact_by_its_email(story):
    c = client(story)
    sign_in(c, "viewer")
    html = c.get("/leads?q=Ada@Example.com").text
    assert re.findall(r'<a href="/contacts/([^"]+)">', html) == ["ada"]


def test_a_contact_page_is_found_by_its_email_too(story):
    c = client(story)
    sign_in(c, "viewer")
    r = c.get("/contacts/Ada@Example.com", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/contacts/ada"
    missing = c.get("/contacts/nobody@example.com")
    assert missing.status_code == 404 and "search for it on the leads list" in missing.text


def test_a_stage_left_as_points_fade_is_a_line_of_its_own():
    from types import SimpleNamespace

    from leadscore.model import load_model_text
    from leadscore.service.published import Published
    from leadscore.web import timeline

    model = load_model_text(
        """name: fading
scale: {min: 0, max: 100}
groups:
  engagement:
    decay: {expires: 10d}
    rules:
      - name: Demo request
        on: {type: form_submit}
        points: 30
thresholds:
  - stage: MQL
    when: {total: {gte: 30}}
default_stage: lead
"""
    )
    contact = SimpleNamespace(id="x", email=None, properties={})
    demo = SimpleNamespace(
        type="form_submit", ts=NOW - timedelta(days=20), seq=1, attributes={"form_id": "demo"}
    )
    told = timeline.story(Published("fading", 1, model), contact, [demo], [], NOW)
    assert [e.line for e in told.entries] == [
        "+30 Submitted form demo (Demo request)",
        "entered MQL",
        "left MQL, back to lead as points faded",
    ]
    left = told.entries[-1].at
    ten_days = demo.ts + timedelta(days=10)
    assert ten_days < left < ten_days + timedelta(days=1)  # the first look after it expired
    assert told.series[-1] == (NOW, 0.0)
