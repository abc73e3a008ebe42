"""The leads list on PostgreSQL is read through indexes: no sort of all scores, no OFFSET.

Checked with EXPLAIN on 20,000 contacts (the plan, not the time, is asserted;
the timings at 1,000,000 contacts are in docs/web.md).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadscore.store import Store
from leadscore.store import tables as T
from leadscore.web import leadlist
from leadscore.web.leadlist import LeadFilters

from ..service.helpers import postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
N = 20_000


def _nodes(plan: dict) -> list[dict]:
    out = [plan]
    for child in plan.get("Plans", []):
        out += _nodes(child)
    return out


@pytest.fixture(scope="module")
def store(request):
    url = postgres_database(request.getfixturevalue("postgres_url"), "leads")
    s = Store(url)
    rng = random.Random(0)
    now = datetime.now(UTC)
    raw = s.engine.raw_connection()
    cur = raw.cursor()
    with cur.copy("COPY contacts (id, email, properties, created_at, updated_at) FROM STDIN") as cp:
        for i in range(N):
            props = {"country": rng.choice(["US", "FR", "DE", "SE"]), "source": "Referral"}
            cp.write_row((f"c{i:06d}", f"u{i}@example.com", json.dumps(props), now, now))
    with cur.copy(
        "COPY scores (contact_id, model_name, version, total, grade, stage, excluded, groups, "
        "breakdown, adjustment, scored_at) FROM STDIN"
    ) as cp:
        for i in range(N):
            total = round(rng.random() * 100, 1)
            cp.write_row((f"c{i:06d}", "m", 1, total, "A", "lead", False, "{}", "[]", 0.0, now))
    with cur.copy("COPY events (contact_id, type, ts, attributes, received_at) FROM STDIN") as cp:
        for i in range(N):
            ts = now - timedelta(days=rng.random() * 100)
            cp.write_row((f"c{i:06d}", "page_view", ts, "{}", ts))
    raw.commit()
    cur.execute("ANALYZE")
    raw.commit()
    raw.close()
    yield s
    s.dispose()


def _plan(store: Store, f: LeadFilters) -> list[dict]:
    with store.read() as conn:
        sql = str(
            leadlist.leads_query("m", f).compile(conn, compile_kwargs={"literal_binds": True})
        )
        assert "OFFSET" not in sql.upper()
        doc = conn.execute(sa.text("EXPLAIN (FORMAT JSON) " + sql)).scalar_one()
    return _nodes((doc if isinstance(doc, list) else json.loads(doc))[0]["Plan"])


def test_a_deep_page_walks_the_score_index_from_the_cursor(store):
    with store.read() as conn:
        page = leadlist.leads(conn, "m", LeadFilters())
        for _ in range(5):  # five pages down, by cursor
            page = leadlist.leads(conn, "m", LeadFilters(after=page.next_after))
    assert len(page.rows) == 50
    nodes = _plan(store, LeadFilters(after=page.next_after))
    scans = [n for n in nodes if n.get("Relation Name") == "scores"]
    assert [n["Index Name"] for n in scans] == ["ix_scores_model_total"]
    assert "ROW(total" in scans[0]["Index Cond"]  # the cursor is the index condition
    assert not any(n["Node Type"] == "Sort" for n in nodes)
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes)


def test_a_rare_country_is_found_through_its_index(store):
    nodes = _plan(store, LeadFilters(country="ZZ"))
    assert any(n.get("Index Name") == "ix_web_contacts_country" for n in nodes)
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes)


def test_an_exact_search_uses_indexes(store):
    nodes = _plan(store, LeadFilters(q="u123@example.com"))
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes)


def _explain(store: Store, query) -> list[dict]:
    with store.read() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        doc = conn.execute(sa.text("EXPLAIN (FORMAT JSON) " + sql)).scalar_one()
    return _nodes((doc if isinstance(doc, list) else json.loads(doc))[0]["Plan"])


def test_a_page_number_walks_the_index_from_the_nearer_end(store):
    """Page 100 of 400 is an OFFSET on the index (no sort); page 399 is read backwards
    from the end of the list, the OFFSET of one page only."""
    with store.read() as conn:
        deep = leadlist.leads(conn, "m", LeadFilters(page=100))
        near_end = leadlist.leads(conn, "m", LeadFilters(page=399))
        last = leadlist.leads(conn, "m", LeadFilters(page=400))
        everything = conn.execute(
            sa.select(T.scores.c.contact_id)
            .where(T.scores.c.model_name == "m")
            .order_by(T.scores.c.total.desc(), T.scores.c.contact_id.desc())
        ).scalars()
        ids = list(everything)
    assert (deep.total, deep.pages) == (N, 400)
    assert [r["contact_id"] for r in deep.rows] == ids[4950:5000]
    assert [r["contact_id"] for r in near_end.rows] == ids[19900:19950]
    assert [r["contact_id"] for r in last.rows] == ids[19950:]
    for query in (
        leadlist.leads_query("m", LeadFilters(), offset=4950),
        leadlist.leads_query("m", LeadFilters(), offset=50, reverse=True),
    ):
        nodes = _explain(store, query)
        scans = [n for n in nodes if n.get("Relation Name") == "scores"]
        assert [n["Index Name"] for n in scans] == ["ix_scores_model_total"]
        assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes)
