"""The pages over HTTP (no browser): sign-in, CSRF, roles, the leads list, the editor."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from leadscore.store import tables as T

from .helpers import PASSWORD, client, csrf_of, sign_in, tiny_service


@pytest.fixture
def svc(tmp_path):
    s = tiny_service(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.store.dispose()


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    """A store only read by the tests that use it, and a viewer signed in to it."""
    s = tiny_service(f"sqlite:///{tmp_path_factory.mktemp('read') / 'store.db'}")
    c = client(s)
    sign_in(c, "viewer")
    yield c
    s.store.dispose()


def _ids(html: str) -> list[str]:
    return re.findall(r'<a href="/contacts/([^"]+)">', html)


def _total(svc, cid: str) -> float:
    with svc.store.read() as conn:
        return conn.execute(
            sa.select(T.scores.c.total).where(T.scores.c.contact_id == cid)
        ).scalar_one()


def test_pages_need_a_signed_in_user(svc):
    c = client(svc)
    r = c.get("/leads?stage=MQL", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/leads%3Fstage%3DMQL"
    assert c.get("/v1/models").headers["content-type"] == "application/problem+json"


def test_sign_in_checks_the_token_the_password_and_where_it_goes_next(svc):
    c = client(svc)
    token = csrf_of(c.get("/login").text)
    form = {"email": "viewer@example.com", "password": PASSWORD, "next": "//evil.example/x"}
    assert c.post("/login", data=form, follow_redirects=False).status_code == 403
    wrong = c.post("/login", data={**form, "csrf": token, "password": "nope-nope-nope"})
    assert wrong.status_code == 401
    assert "Wrong e-mail or password" in wrong.text
    r = c.post("/login", data={**form, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"  # never off-site
    cookie = r.headers["set-cookie"]
    assert "leadscore_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = c.get("/leads")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_tampered_session_cookie_is_refused(svc):
    c = client(svc)
    sign_in(c, "viewer")
    value = c.cookies["leadscore_session"]
    c.cookies.set("leadscore_session", value[:-1] + ("0" if value[-1] != "0" else "1"))
    assert c.get("/leads", follow_redirects=False).status_code == 303


def test_leads_are_sorted_by_score_and_paged_by_keyset(svc):
    c = client(svc)
    sign_in(c, "viewer")
    # a and c have 20 points, b has 0; ties go by id, descending.
    assert _ids(c.get("/leads").text) == ["c", "a", "b"]
    from leadscore.web import leadlist

    with svc.store.read() as conn:
        first = leadlist.leads(conn, "tiny", leadlist.LeadFilters(), limit=2)
        assert [r["contact_id"] for r in first.rows] == ["c", "a"]
        assert (first.total, first.page, first.pages) == (3, 1, 2)
        assert first.prev_before is None
        second = leadlist.leads(conn, "tiny", leadlist.LeadFilters(after=first.next_after), limit=2)
        assert [r["contact_id"] for r in second.rows] == ["b"]
        assert second.next_after is None
        assert (second.page, second.first) == (2, 3)  # counted, not taken from the link
        back = leadlist.leads(
            conn, "tiny", leadlist.LeadFilters(before=second.prev_before), limit=2
        )
        assert [r["contact_id"] for r in back.rows] == ["c", "a"]
        assert back.prev_before is None and back.page == 1
    # the cursor is the row after which the page starts: total 20, contact a
    f = leadlist.LeadFilters(after=first.next_after)
    sql = str(leadlist.leads_query("tiny", f).compile(compile_kwargs={"literal_binds": True}))
    assert "OFFSET" not in sql.upper()
    assert "(scores.total, scores.contact_id) < (20.0, 'a')" in sql


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=MQL", ["c", "a"]),
        ("stage=lead", ["b"]),
        ("country=US", ["c", "b"]),
        ("source=Events&country=US", ["c"]),
        ("min=10", ["c", "a"]),
        ("max=10", ["b"]),
        ("q=CHEN", ["c"]),  # a last name, exactly (any case)
        ("q=hen", ["c"]),  # nothing exact: names containing the text
        ("q=a", ["a"]),  # an id matches exactly
        ("activity=30d", []),  # nobody has any event
        ("activity=quiet90", ["c", "a", "b"]),
    ],
)
def test_leads_filters(viewer, query, expected):
    assert _ids(viewer.get(f"/leads?{query}").text) == expected


def test_adjustments_need_the_token_and_the_editor_role(svc):
    c = client(svc)
    token = sign_in(c, "viewer")
    form = {"points": "5", "reason": "met at a fair"}
    assert c.post("/contacts/b/adjustments", data={**form, "csrf": token}).status_code == 403
    c2 = client(svc)
    token2 = sign_in(c2, "editor")
    missing = c2.post("/contacts/b/adjustments", data=form)
    assert missing.status_code == 403 and "security token" in missing.text
    assert _total(svc, "b") == 0.0
    bad = c2.post("/contacts/b/adjustments", data={"points": "five", "reason": "x", "csrf": token2})
    assert bad.status_code == 422 and "points must be a number" in bad.text
    ok = c2.post(
        "/contacts/b/adjustments",
        data={**form, "csrf": token2},
        headers={"HX-Request": "true"},
    )
    assert ok.status_code == 200
    assert _total(svc, "b") == 5.0  # 0 rule points + 5 by hand
    assert "met at a fair" in ok.text
    page = c2.get("/contacts/b").text
    assert "met at a fair" in page and "editor@example.com" in page


def test_the_editor_validates_at_the_line_and_only_publish_changes_scores(svc):
    from .helpers import TINY_MODEL

    c = client(svc)
    token = sign_in(c, "admin")
    broken = TINY_MODEL.replace("points: 20", "points: twenty")
    frag = c.post("/models/validate", data={"yaml": broken, "csrf": token}).text
    assert "line 8, column 9" in frag and 'data-lines="8"' in frag
    refused = c.post("/models/drafts", data={"yaml": broken, "csrf": token})
    assert refused.status_code == 422
    better = TINY_MODEL.replace("points: 20", "points: 30").replace("\n", "\r\n")
    r = c.post("/models/drafts", data={"yaml": better, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/models/tiny/versions/2"
    with svc.store.read() as conn:
        stored = conn.execute(
            sa.select(T.model_versions.c.yaml).where(T.model_versions.c.version == 2)
        ).scalar_one()
    assert "\r" not in stored  # kept as typed, not with the browser's line ends
    assert _total(svc, "a") == 20.0  # a draft changes nothing
    test = c.post("/models/tiny/versions/2/test", data={"contact_id": "a", "csrf": token})
    assert 'data-testid="test-total">30.0<' in test.text
    impact = c.get("/models/tiny/versions/2/impact").text
    assert 'data-testid="stage-changes">0<' in impact  # 30 is MQL as 20 was
    viewer = client(svc)
    vtoken = sign_in(viewer, "viewer")
    assert viewer.post("/models/tiny/versions/2/publish", data={"csrf": vtoken}).status_code == 403
    assert _total(svc, "a") == 20.0
    # publishing asks first: without the confirmation, the impact page, nothing changed
    r = c.post("/models/tiny/versions/2/publish", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/models/tiny/versions/2/publish"
    assert _total(svc, "a") == 20.0
    r = c.post(
        "/models/tiny/versions/2/publish",
        data={"csrf": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _total(svc, "a") == 30.0
    diff = c.get("/models/tiny/diff?a=1&b=2").text
    assert "-        points: 20" in diff and "+        points: 30" in diff
    r = c.post(
        "/models/tiny/rollback", data={"version": "1", "csrf": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/models/tiny/rollback?version=1"
    assert _total(svc, "a") == 30.0  # not confirmed: nothing changed
    confirm = c.get("/models/tiny/rollback?version=1").text
    assert "Roll back to tiny v1?" in confirm and 'data-testid="score-changes">2<' in confirm
    r = c.post(
        "/models/tiny/rollback",
        data={"version": "1", "csrf": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _total(svc, "a") == 20.0


def test_every_page_renders(svc):
    c = client(svc)
    sign_in(c, "admin")
    for path in (
        "/",
        "/dashboard",
        "/models",
        "/models/edit",
        "/models/edit?name=tiny",
        "/models/tiny/versions/1",
        "/backtest",
        "/settings",
        "/contacts/a",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
    missing = c.get("/contacts/nobody")
    assert missing.status_code == 404 and "no contact &#39;nobody&#39;" in missing.text


def test_stage_colours_are_set_by_an_admin(svc):
    c = client(svc)
    token = sign_in(c, "admin")
    r = c.post("/settings/colours", data={"colour_MQL": "#123456", "csrf": token})
    assert r.status_code == 200  # back on the settings page
    assert 'style="background: #123456">MQL</span>' in c.get("/leads").text
    editor = client(svc)
    etoken = sign_in(editor, "editor")
    assert editor.post("/settings/colours", data={"csrf": etoken}).status_code == 403


def test_a_predictive_score_is_shown_with_its_reasons(svc):
    from leadscore.service.schemas import ContactIn

    reasons = [{"feature": "pricing page views", "value": "4", "effect": 0.8}]
    props = {"predicted_score": 87, "predicted_band": "very high", "predicted_reasons": reasons}
    svc.upsert_contacts([ContactIn(id="a", properties=props)], "test")
    c = client(svc)
    sign_in(c, "viewer")
    page = c.get("/contacts/a").text
    assert "Predictive score" in page and "very high" in page
    assert "pricing page views = 4" in page and "+0.80" in page
    assert "Predictive score" not in c.get("/contacts/b").text


def test_a_refused_adjustment_keeps_the_page_and_says_why(svc):
    c = client(svc)
    token = sign_in(c, "editor")
    r = c.post(
        "/contacts/a/adjustments",
        data={"points": "5", "reason": " ", "csrf": token},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422
    assert "give a reason" in r.text
    assert "Breakdown" in r.text and "Add adjustment" in r.text  # the section is still there
    assert _total(svc, "a") == 20.0
