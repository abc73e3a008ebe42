"""The import page in headless Chromium: upload a contacts and an events file, see the
preview, import, find the contacts in the leads list; bad rows are listed with their row,
column and fix; a refused import leaves the store as it was.

The page runs on a store of its own (the tiny model of ``helpers``): an import must not
change the shared sample the other pages' tests count on.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadscore.service.schemas import ContactIn
from leadscore.store import tables as T

from .conftest import VIEWPORT, serve, sign_in
from .helpers import PASSWORD, tiny_service

pytestmark = pytest.mark.browser
C, S = T.contacts.c, T.scores.c


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("import-web")
    svc = tiny_service(f"sqlite:///{folder / 'store.db'}")
    with serve(svc, folder) as running:
        yield running


@pytest.fixture
def editor(browser, store):
    context = browser.new_context(viewport=VIEWPORT, base_url=store.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, "editor@example.com", PASSWORD)
    yield page
    context.close()


def _contacts(store) -> dict[str, dict]:
    with store.service.store.read() as conn:
        rows = conn.execute(sa.select(C.id, C.email, C.properties)).all()
    return {r.id: {"email": r.email, **(r.properties or {})} for r in rows}


def _choose(page, tmp_path, contacts: str | None = None, events: str | None = None) -> None:
    page.goto("/import")
    if contacts is not None:
        path = tmp_path / "new-leads.csv"
        path.write_text(contacts, encoding="utf-8")
        page.get_by_label("Contacts file").set_input_files(str(path))
    if events is not None:
        path = tmp_path / "their-visits.csv"
        path.write_text(events, encoding="utf-8")
        page.get_by_label("Events file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/import/[A-Za-z0-9_-]{16,}$"))


def test_import_a_csv_with_a_preview_then_see_the_contacts_in_the_list(editor, store, tmp_path):
    page = editor
    _choose(
        page,
        tmp_path,
        contacts="id,email,first_name,last_name,company\n"
        "imp-1,ines@northwind.example,Inès,Quintal,Northwind\n"
        "imp-2,bo@gmail.com,Bo,Rasmussen,\n"
        "imp-3,cy@umbrella.example,Cy,Sato,Umbrella\n",
        events="contact_id,type,ts,event_id,url\n"
        "imp-1,page_view,2026-01-05T10:00:00Z,e1,/pricing\n"
        "imp-3,page_view,2026-01-06T11:00:00Z,e2,/docs\n",
    )
    # the preview: counts, how each column is read, the first rows as they will be stored
    expect(page.get_by_test_id("rows-contacts")).to_contain_text("3 contacts to import")
    expect(page.get_by_test_id("rows-events")).to_contain_text("2 events to import")
    mapping = page.get_by_role("table", name="How the columns of new-leads.csv are read")
    expect(mapping.get_by_role("row", name="id contact id")).to_be_visible()
    expect(mapping.get_by_role("row", name="company property")).to_be_visible()
    events_map = page.get_by_role("table", name="How the columns of their-visits.csv are read")
    expect(events_map.get_by_role("row", name="event_id event id")).to_be_visible()
    expect(events_map.get_by_role("row", name="url attribute")).to_be_visible()
    first = page.get_by_role("table", name="First rows of new-leads.csv")
    expect(first.locator("tbody tr")).to_have_count(3)
    expect(first.locator("tbody tr").first).to_contain_text("Inès")
    assert "imp-1" not in _contacts(store)  # nothing written by the preview
    store.shot(page, "import-preview", full=True)
    page.get_by_role("button", name="Import", exact=True).click()
    done = page.get_by_test_id("import-done")
    expect(done).to_contain_text("3 contacts: 3 new, 0 updated")
    expect(done).to_contain_text("2 events added")
    expect(done).to_contain_text("scored under tiny")
    stored = _contacts(store)
    assert {k: stored[k]["company"] for k in ("imp-1", "imp-3")} == {
        "imp-1": "Northwind",
        "imp-3": "Umbrella",
    }
    assert stored["imp-2"]["email"] == "bo@gmail.com"
    page.get_by_role("link", name="See them in the leads list").click()
    page.wait_for_url(re.compile(r"/leads$"))
    table = page.locator("table.leads")
    for name in ("Inès Quintal", "Bo Rasmussen", "Cy Sato"):
        expect(table.get_by_role("link", name=name)).to_be_visible()
    # scored as the tiny model says: a business e-mail is 20 points, MQL from 20
    row = table.locator("tr", has=page.get_by_role("link", name="Inès Quintal"))
    expect(row.locator("td.total")).to_have_text("20")
    with store.service.store.read() as conn:
        events = conn.execute(
            sa.select(sa.func.count()).select_from(T.events).where(T.events.c.contact_id == "imp-1")
        ).scalar_one()
    assert events == 1


def test_an_import_with_bad_rows_shows_the_row_errors(editor, store, tmp_path):
    page = editor
    before = _contacts(store)
    _choose(
        page,
        tmp_path,
        contacts="id,email,company\n"
        "bad-1,one@acme.example,Acme\n"
        "bad 2,two@acme.example,Acme\n"
        "bad-3,same@acme.example,Acme\n"
        "bad-4,same@acme.example,Acme\n",
    )
    expect(
        page.get_by_role("heading", name="2 problems: nothing can be imported yet")
    ).to_be_visible()
    problems = page.get_by_role("table", name="Problems found in the files")
    rows = problems.locator("tbody tr")
    expect(rows).to_have_count(2)
    # row, column, what is wrong and how to fix it
    expect(rows.nth(0).locator("td")).to_have_text(
        ["new-leads.csv", "2", "id", re.compile("the contact id 'bad 2'"), re.compile("no space")]
    )
    expect(rows.nth(1).locator("td")).to_have_text(
        [
            "new-leads.csv",
            "4",
            "email",
            re.compile(r"'same@acme.example' is on more than one contact \(rows 3, 4\)"),
            re.compile("an e-mail belongs to one contact"),
        ]
    )
    expect(rows.nth(1)).to_contain_text("an e-mail on several contacts stays on the first")
    expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)
    store.shot(page, "import-problems", full=True)
    assert _contacts(store) == before
    # the repeated e-mail may stay on its first contact instead: then one problem is left
    page.get_by_label("An e-mail on several contacts").select_option("first")
    page.get_by_role("button", name="Check again").click()
    page.wait_for_url(re.compile(r"repeated_emails=first"))
    expect(page.get_by_test_id("emails-left-out")).to_contain_text("1 e-mail will be left off")
    expect(
        page.get_by_role("heading", name="1 problem: nothing can be imported yet")
    ).to_be_visible()
    expect(
        page.get_by_role("table", name="Problems found in the files").locator("tbody tr")
    ).to_have_count(1)
    # on a phone the problems table scrolls in its box; the page does not
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_a_refused_import_leaves_the_store_as_it_was(editor, store, tmp_path):
    # the file is fine on its own; the store refuses it: the e-mail is another contact's
    store.service.upsert_contacts([ContactIn(id="owner", email="taken@acme.example")], "test")
    before = _contacts(store)
    _choose(
        page := editor,
        tmp_path,
        contacts="id,email,company\nfresh-1,fresh@acme.example,Acme\n"
        "fresh-2,taken@acme.example,Acme\n",
    )
    expect(page.get_by_test_id("rows-contacts")).to_contain_text("2 contacts to import")
    page.get_by_role("button", name="Import", exact=True).click()
    failed = page.get_by_test_id("import-failed")
    expect(failed).to_contain_text("Not imported: nothing was written")
    expect(failed.locator("tbody td")).to_have_text(
        [
            "new-leads.csv",
            "2",
            "email",
            re.compile("already belongs to contact 'owner'"),
            re.compile("give this row the id 'owner'"),
        ]
    )
    assert _contacts(store) == before  # fresh-1 was not kept either
