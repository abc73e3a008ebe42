"""The leads list: sort by any column (and a second key), count, pages, CSV export.

Twelve contacts whose scores are worked out here by hand; the same checks run on
SQLite and on a real PostgreSQL server, since the sorting and the paging are
SQL (ORDER BY, LIMIT, OFFSET, keyset conditions) and NULLs must come last on both.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadscore.service import Service, create_app, load_settings, versions
from leadscore.service.schemas import ContactIn, EventIn
from leadscore.store import tables as T
from leadscore.web import keyset, leadexport, leadlist, users
from leadscore.web.base import points
from leadscore.web.leadlist import LeadFilters

from ..service.helpers import postgres_database
from .helpers import PASSWORD, sign_in

# fit: gold 30, silver 20; engagement: newsletter 15. SQL from 45, MQL from 30.
MODEL = """name: lists
scale: {min: 0, max: 100}
groups:
  fit:
    rules:
      - name: Gold
        when: {tier: gold}
        points: 30
      - name: Silver
        when: {tier: silver}
        points: 20
  engagement:
    rules:
      - name: Newsletter
        when: {newsletter: "yes"}
        points: 15
grades: {fit: {A: 30, B: 20, else: D}}
thresholds:
  - stage: SQL
    when: {total: {gte: 45}}
  - stage: MQL
    when: {total: {gte: 30}}
default_stage: lead
"""
# id: (tier, newsletter, last name, company, country)
PEOPLE = {
    "k01": ("gold", "yes", "Moreau", "Acme", "FR"),
    "k02": ("gold", "no", "Lopez", "beta labs", "ES"),
    "k03": ("silver", "yes", "Zhang", None, "US"),
    "k04": ("silver", "no", "Adams", "ACME", "US"),
    "k05": ("none", "yes", "Brown", "Zeta", "FR"),
    "k06": ("none", "no", None, None, "US"),
    "k07": ("gold", "yes", "Young", "Delta", "DE"),
    "k08": ("silver", "yes", "Klein", "Beta Labs", "DE"),
    "k09": ("none", "no", "Nakamura", None, "JP"),
    "k10": ("gold", "no", "Garcia", None, "FR"),
    "k11": ("silver", "no", "Evans", None, "US"),
    "k12": ("none", "yes", "Ortiz", None, "MX"),
}
# Hand-computed: fit + engagement, best first, ties by contact id descending.
BY_TOTAL = ["k07", "k01", "k08", "k03", "k10", "k02", "k11", "k04", "k12", "k05", "k09", "k06"]
TOTALS = {"k01": 45, "k07": 45, "k03": 35, "k08": 35, "k02": 30, "k10": 30, "k04": 20, "k11": 20}
TOTALS |= {"k05": 15, "k12": 15, "k06": 0, "k09": 0}
NOW = datetime.now(UTC)
LAST_SEEN = {"k03": 2, "k05": 10, "k09": 1}  # days ago: the others never did anything


def _service(url: str) -> Service:
    settings = load_settings({"database": url, "sweep_interval": 0, "outbox_poll_interval": 0})
    svc = Service(settings)
    names = ("tier", "newsletter", "last_name", "company", "country")
    people = {
        cid: {k: v for k, v in zip(names, row, strict=True) if v is not None}
        for cid, row in PEOPLE.items()
    }
    people["k10"]["first_name"] = "=HYPERLINK(1)"  # hostile: a spreadsheet formula
    svc.upsert_contacts([ContactIn(id=cid, properties=p) for cid, p in people.items()], "test")
    svc.ingest(
        [
            EventIn(contact_id=cid, type="page_view", ts=NOW - timedelta(days=days))
            for cid, days in LAST_SEEN.items()
        ],
        "test",
    )
    draft = versions.create_draft(svc, MODEL, {}, "test")
    versions.publish(svc, "lists", draft["version"], "test", fire_triggers=False)
    history = T.score_history
    with svc.store.write() as conn:
        users.create_user(conn, "viewer@example.com", PASSWORD, "viewer")
        # stage entries count when the contact's own activity made them, not a publish:
        # the contacts here reached their stages as if by their events
        conn.execute(sa.update(history).values(cause="event"))
        # k02 became an MQL 10 days ago, k10 40 days ago; k02 was rescored today, staying MQL
        for cid, days in (("k02", 10), ("k10", 40)):
            conn.execute(
                sa.update(history)
                .where(history.c.contact_id == cid)
                .values(at=NOW - timedelta(days=days))
            )
        row = conn.execute(sa.select(history).where(history.c.contact_id == "k02")).one()
        again = {**row._asdict(), "at": NOW, "cause": "event", "old_stage": "MQL"}
        conn.execute(sa.insert(history).values({k: v for k, v in again.items() if k != "id"}))
    return svc


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def svc(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('lists') / 'store.db'}"
    else:
        url = postgres_database(request.getfixturevalue("postgres_url"), "lists")
    s = _service(url)
    yield s
    s.store.dispose()


@pytest.fixture(scope="module")
def web(svc):
    from fastapi.testclient import TestClient

    c = TestClient(create_app(svc.settings, service=svc, workers=False))
    sign_in(c, "viewer")
    return c


STAGES = ["SQL", "MQL", "lead"]


def _ids(html: str) -> list[str]:
    return re.findall(r'<a href="/contacts/([^"]+)">', html)


def _all(svc, f: LeadFilters) -> list[str]:
    with svc.store.read() as conn:
        page = leadlist.leads(conn, "lists", f, limit=100, stages=STAGES)
    return [r["contact_id"] for r in page.rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", BY_TOTAL),
        ("sort=total&dir=asc", BY_TOTAL[::-1]),
        # fit highest first, ties: engagement lowest first, then contact id (descending)
        (
            "sort=fit&sort2=engagement&dir2=asc",
            ["k10", "k02", "k07", "k01", "k11", "k04", "k08", "k03", "k09", "k06", "k12", "k05"],
        ),
        # companies A-Z ignoring case, the contacts without one last; ties by id ascending
        (
            "sort=company",
            ["k01", "k04", "k02", "k08", "k07", "k05", "k03", "k06", "k09", "k10", "k11", "k12"],
        ),
        # Z-A: still the contacts without a company last
        (
            "sort=company&dir=desc",
            ["k05", "k07", "k08", "k02", "k04", "k01", "k12", "k11", "k10", "k09", "k06", "k03"],
        ),
        # by last name A-Z, the contact without one last
        (
            "sort=contact",
            ["k04", "k05", "k11", "k10", "k08", "k02", "k01", "k09", "k12", "k07", "k03", "k06"],
        ),
        # the funnel: SQL, MQL, lead; inside a stage the highest total first
        (
            "sort=stage&sort2=total",
            ["k07", "k01", "k08", "k03", "k10", "k02", "k11", "k04", "k12", "k05", "k09", "k06"],
        ),
        # the most recently active first, the never active last (by total, best first)
        (
            "sort=activity&sort2=total",
            ["k09", "k03", "k05", "k07", "k01", "k08", "k10", "k02", "k11", "k04", "k12", "k06"],
        ),
        # countries A-Z, inside a country grade A first, then contact id ascending
        (
            "sort=country&sort2=grade",
            ["k07", "k08", "k02", "k01", "k10", "k05", "k09", "k12", "k03", "k04", "k11", "k06"],
        ),
        # a filter and a sort together
        ("sort=country&stage=MQL", ["k08", "k02", "k10", "k03"]),
        # the MQLs of this week, of the last 7 and the last 30 days (a rescore is no entry)
        ("stage=MQL&entered=week", ["k08", "k03"]),
        ("stage=MQL&entered=7d", ["k08", "k03"]),
        ("stage=MQL&entered=30d", ["k08", "k03", "k02"]),
        ("stage=MQL", ["k08", "k03", "k10", "k02"]),
    ],
)
def test_the_list_is_sorted_by_the_column_then_the_second_key(web, query, expected):
    r = web.get(f"/leads?{query}")
    assert r.status_code == 200, r.text
    assert _ids(r.text) == expected


def test_the_count_headings_and_highlighted_rows(web):
    html = web.get("/leads").text
    assert re.search(r"<strong>12</strong> leads, 1–12 shown", html)
    # the total is the sorted column; a click on it sorts the other way
    assert re.search(r'aria-sort="descending">\s*<a class="sort on" href="/leads\?dir=asc"', html)
    assert 'href="/leads?sort=company"' in html  # text columns sort A-Z first
    assert 'href="/leads?sort=fit"' in html  # number columns highest first
    sql_rows = re.findall(
        r'<tr class="is-sql" data-stage="SQL">\s*<td><a href="/contacts/(\w+)"', html
    )
    mql_rows = re.findall(
        r'<tr class="is-mql" data-stage="MQL">\s*<td><a href="/contacts/(\w+)"', html
    )
    assert sql_rows == ["k07", "k01"]
    assert mql_rows == ["k08", "k03", "k10", "k02"]
    filtered = web.get("/leads?country=US&sort=company").text
    assert re.search(r"<strong>4</strong> leads", filtered)
    # the export link carries the view: its filters and its order
    assert 'href="/leads.csv?country=US&amp;sort=company"' in filtered


@pytest.mark.parametrize(
    "view",
    [
        LeadFilters(),
        LeadFilters(sort="company", dir="desc", sort2="fit", dir2="asc"),
        LeadFilters(sort="contact", dir="asc", sort2="activity", dir2="desc"),
        LeadFilters(sort="activity", dir="desc", sort2="company", dir2="asc"),
        LeadFilters(sort="stage", dir="asc", sort2="engagement", dir2="desc"),
        LeadFilters(sort="fit", dir="desc", country="US"),
    ],
    ids=["total", "company-fit", "contact-activity", "activity-company", "stage", "us-fit"],
)
def test_every_page_by_number_next_and_previous_gives_the_same_rows(svc, view):
    """Pages of 5: reached by number, by Next from page 1 and by Previous from the last,
    they are the whole list in its order, each row once."""
    whole = _all(svc, view)
    pages = -(-len(whole) // 5)
    with svc.store.read() as conn:

        def read(f: LeadFilters) -> leadlist.LeadsPage:
            return leadlist.leads(conn, "lists", f, limit=5, stages=STAGES)

        by_number = [read(LeadFilters(**{**view.__dict__, "page": n})) for n in range(1, pages + 1)]
        assert [p.page for p in by_number] == list(range(1, pages + 1))
        assert [p.total for p in by_number] == [len(whole)] * pages
        assert [r["contact_id"] for p in by_number for r in p.rows] == whole
        assert [p.first for p in by_number] == [1 + 5 * i for i in range(pages)]
        forward, page = [], read(view)
        while True:
            forward += [r["contact_id"] for r in page.rows]
            if page.next_after is None:
                break
            page = read(LeadFilters(**{**view.__dict__, "after": page.next_after}))
        assert forward == whole
        backward, page = [], by_number[-1]
        while True:
            backward = [r["contact_id"] for r in page.rows] + backward
            if page.prev_before is None:
                break
            page = read(LeadFilters(**{**view.__dict__, "before": page.prev_before}))
        assert backward == whole


def test_the_stage_order_without_thresholds_still_pages(svc):
    """A model without stages: the stage sort is a tie everywhere, broken by contact id."""
    with svc.store.read() as conn:
        page = leadlist.leads(conn, "lists", LeadFilters(sort="stage"), limit=5)
        seen = [r["contact_id"] for r in page.rows]
        while page.next_after:
            page = leadlist.leads(
                conn, "lists", LeadFilters(sort="stage", after=page.next_after), limit=5
            )
            seen += [r["contact_id"] for r in page.rows]
    assert seen == sorted(PEOPLE, reverse=True)


def test_page_numbers_around_the_current_page_and_past_the_end(svc):
    long = leadlist.LeadsPage([], LeadFilters(), total=1000, page=10, pages=20)
    assert long.page_numbers() == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert leadlist.LeadsPage([], LeadFilters(), pages=3).page_numbers() == [1, 2, 3]
    with svc.store.read() as conn:  # page 7 of 3: the last page
        page = leadlist.leads(conn, "lists", LeadFilters(page=7), limit=5, stages=STAGES)
    assert (page.page, page.pages, page.first) == (3, 3, 11)
    assert [r["contact_id"] for r in page.rows] == BY_TOTAL[10:]
    assert page.next_after is None and page.prev_before is not None


def test_a_bad_sort_or_page_link_is_refused_with_what_to_do(web):
    r = web.get("/leads?sort=salary")
    assert r.status_code == 400
    assert "sort=&#39;salary&#39; is not a column of the leads list" in r.text
    assert "contact, company, fit" in r.text
    r = web.get("/leads?after=bm90LWpzb24")
    assert r.status_code == 400
    assert "the page link is damaged" in r.text and "first page again" in r.text
    # a cursor made for another order (a company name where a score is expected)
    company_cursor = keyset.encode(["acme", "k01"])
    r = web.get(f"/leads?sort=fit&after={company_cursor}")
    assert r.status_code == 400 and "made for another sort" in r.text
    assert web.get("/leads?dir=sideways").status_code == 400
    assert web.get("/leads.csv?sort2=nope").status_code == 400


def _csv(web, query: str) -> list[dict[str, str]]:
    r = web.get(f"/leads.csv?{query}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="leads-lists-')
    return list(csv.DictReader(io.StringIO(r.text)))


def test_the_csv_export_is_the_view_with_exact_values(svc, web):
    rows = _csv(web, "")
    assert [r["contact_id"] for r in rows] == BY_TOTAL
    assert {r["contact_id"]: float(r["total"]) for r in rows} == TOTALS
    k03 = next(r for r in rows if r["contact_id"] == "k03")
    assert (k03["fit"], k03["engagement"], k03["grade"], k03["stage"]) == (
        "20.0",
        "15.0",
        "B",
        "MQL",
    )
    assert k03["company"] == "" and k03["last_name"] == "Zhang" and k03["excluded"] == "false"
    seen = datetime.fromisoformat(k03["last_activity"])
    assert abs((NOW - timedelta(days=2) - seen).total_seconds()) < 1
    # a cell a spreadsheet would run as a formula is quoted
    k10 = next(r for r in rows if r["contact_id"] == "k10")
    assert k10["first_name"] == "'=HYPERLINK(1)" and k10["last_name"] == "Garcia"
    # the filters and the order of the page, every page (not only the one shown)
    us = _csv(web, "country=US&sort=company&dir=desc&page=2")
    assert [r["contact_id"] for r in us] == ["k04", "k11", "k06", "k03"]
    assert list(us[0]) == list(leadexport.EXPORT_COLUMNS)
    with svc.store.read() as conn:  # each export is in the audit log, with its view
        logged = conn.execute(
            sa.select(T.audit_log.c.actor, T.audit_log.c.target, T.audit_log.c.detail)
            .where(T.audit_log.c.action == "web.leads_export")
            .order_by(T.audit_log.c.id.desc())
            .limit(1)
        ).one()
    assert logged.actor.endswith("viewer@example.com") and logged.target == "lists"
    assert logged.detail == {"country": "US", "sort": "company", "dir": "desc"}
    this_week = _csv(web, "stage=MQL&entered=week")  # the MQLs of this week
    assert [(r["contact_id"], r["stage"]) for r in this_week] == [("k08", "MQL"), ("k03", "MQL")]


def test_the_export_streams_in_batches_in_the_views_order(svc):
    view = LeadFilters(sort="company", dir="asc", sort2="fit", dir2="desc")
    chunks = list(leadexport.export_csv(svc.store, "lists", view, stages=STAGES, batch=5))
    assert len(chunks) == 1 + 3  # the header, then batches of 5, 5 and 2 rows
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [r["contact_id"] for r in rows] == _all(svc, view)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(20.0, "20"), (37.4829, "37.5"), (37.96, "38"), (-0.04, "0"), (-20, "-20"), (None, "–")],
)
def test_scores_are_rounded_for_people(value, shown):
    assert points(value) == shown


def test_the_dashboards_stage_counts_open_the_list_of_those_leads(web):
    html = web.get("/dashboard").text
    links = dict(
        (stage, href.replace("&amp;", "&"))
        for href, stage in re.findall(
            r'<a class="card kpi-card kpi-link" href="([^"]+)"[^>]*>'
            r'<span class="kpi-label">([^<]+)</span>',
            html,
        )
    )
    assert links["SQL"] == "/leads?model=lists&stage=SQL"
    assert _ids(web.get(links["SQL"]).text) == ["k07", "k01"]
    assert _ids(web.get(links["MQL"]).text) == ["k08", "k03", "k10", "k02"]
