"""Saved views over HTTP: what is kept, what is refused, who may delete, and the export of
a view being the list's export of its filters and order."""

from __future__ import annotations

import sqlalchemy as sa

from leadscore.store import web_tables as W

from .helpers import client, sign_in, tiny_service


def _setup(tmp_path):
    svc = tiny_service(f"sqlite:///{tmp_path / 's.db'}")
    return svc, client(svc)


def _save(c, csrf, name, query):
    return c.post(
        "/leads/views", data={"csrf": csrf, "name": name, "query": query}, follow_redirects=False
    )


def test_a_view_keeps_the_filters_and_order_but_not_the_page(tmp_path):
    svc, c = _setup(tmp_path)
    csrf = sign_in(c, "viewer")  # sales may save lists: no write scope needed
    r = _save(c, csrf, "  US   by company ", "country=US&sort=company&page=3&after=abc")
    assert r.status_code == 303 and r.headers["location"] == "/leads?country=US&sort=company"
    with svc.store.read() as conn:
        saved = conn.execute(sa.select(W.saved_views)).one()
    assert saved.name == "US by company"
    assert saved.query == {"country": "US", "sort": "company"}
    opened = c.get(f"/leads/views/{saved.id}", follow_redirects=False)
    assert opened.headers["location"] == "/leads?country=US&sort=company"
    page = c.get("/leads?country=US&sort=company").text
    assert 'aria-current="true">US by company</a>' in page
    # the view's export is the list's export of the same query string
    exported = c.get(f"/leads/views/{saved.id}.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    body = exported.text.splitlines()
    assert body == c.get("/leads.csv?country=US&sort=company").text.splitlines()
    assert [line.split(",")[0] for line in body[1:]] == ["b", "c"]  # Brown, Chen: US only


def test_bad_views_are_refused_saying_why(tmp_path):
    svc, c = _setup(tmp_path)
    csrf = sign_in(c, "viewer")
    empty = _save(c, csrf, "   ", "")
    assert empty.status_code == 422 and "needs a name" in empty.text
    assert _save(c, csrf, "x" * 101, "").status_code == 422
    bad = _save(c, csrf, "Odd", "sort=shoe_size")
    assert bad.status_code == 422 and "shoe_size" in bad.text and "use one of" in bad.text
    assert _save(c, csrf, "Mine", "").status_code == 303
    twice = _save(c, csrf, "MINE", "stage=MQL")
    assert twice.status_code == 409 and "exists already" in twice.text
    assert c.post("/leads/views", data={"name": "No token", "query": ""}).status_code == 403
    with svc.store.read() as conn:
        assert conn.execute(sa.select(W.saved_views.c.name)).scalars().all() == ["Mine"]


def test_only_the_author_or_an_admin_deletes_a_view(tmp_path):
    svc, c = _setup(tmp_path)
    csrf = sign_in(c, "viewer")
    _save(c, csrf, "Viewer's", "stage=MQL")
    assert 'aria-label="Delete Viewer&#39;s"' in c.get("/leads").text  # the author may
    with svc.store.read() as conn:
        view_id = conn.execute(sa.select(W.saved_views.c.id)).scalar_one()
    csrf = sign_in(c, "editor")
    assert 'aria-label="Delete Viewer&#39;s"' not in c.get("/leads").text
    refused = c.post(f"/leads/views/{view_id}/delete", data={"csrf": csrf})
    assert refused.status_code == 403 and "only they or an admin" in refused.text
    csrf = sign_in(c, "admin")
    done = c.post(f"/leads/views/{view_id}/delete", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert c.get(f"/leads/views/{view_id}").status_code == 404
    with svc.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(W.saved_views)).scalar() == 0
