"""A hand-computed edge-case set, run on every engine: blanks and NULLs, malformed
numbers, exact window edges, events after the as-of time, duplicate deliveries,
orphan events, exclusions by event, per-contact as-of times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadscore.engine.sql import score_sql
from leadscore.model import load_model

from .support import duck, reference, run_all

MODEL = """
name: edges
scale: {min: 0, max: 100}
groups:
  fit:
    rules:
      - name: Country FR
        when: {country: fr}
        points: 10
      - name: Big
        when: {employees: {gte: 100}}
        points: 5
      - name: Vip
        when: {vip: true}
        points: 3
      - name: Filled
        properties: [country, phone]
        points: 1
  engagement:
    rules:
      - name: Visits
        on: {type: page_view}
        points: 2
        within: 1h
      - name: Demo
        on: {type: form_submit}
        points: 30
        limit: once
      - name: Quiet
        inactive_for: 1d
        or_never: true
        points: -5
exclusions:
  - name: Unsubscribed
    on: {type: unsubscribe}
    within: 1d
thresholds:
  - stage: MQL
    when: {total: {gte: 40}}
default_stage: lead
"""

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)
PROPS = ["country", "employees", "vip", "phone", "as_of"]
ATTRS = ["url"]
CONTACTS = [
    # fit 10 + 5 (" 1e3 " is a number) + 3 ("Yes") + 1 (phone blank) = 19
    {
        "id": "c1",
        "country": "FR",
        "employees": " 1e3 ",
        "vip": "Yes",
        "phone": "",
        "as_of": "2026-03-01T11:00:00Z",
    },
    # nothing readable: blank country, "1,000" is not a number, "maybe" is not a boolean
    {"id": "c2", "country": " ", "employees": "1,000", "vip": "maybe", "phone": None},
    # "fr " is not "fr" (text is compared untrimmed), 1e999 is not finite, "1" is true
    {"id": "c3", "country": "fr ", "employees": "1e999", "vip": "1", "phone": "+33"},
]
H = timedelta(hours=1)
US = timedelta(microseconds=1)
EVENTS = [
    {"contact_id": "c1", "event_id": None, "type": "page_view", "ts": AS_OF - H},  # edge: in
    {"contact_id": "c1", "event_id": None, "type": "page_view", "ts": AS_OF - H - US},  # out
    {"contact_id": "c1", "event_id": None, "type": "page_view", "ts": AS_OF + US},  # future
    {"contact_id": "c1", "event_id": "f1", "type": "form_submit", "ts": AS_OF - H / 2},
    {"contact_id": "c1", "event_id": "f1", "type": "form_submit", "ts": AS_OF - H / 4},  # dup
    {"contact_id": "c1", "event_id": "u1", "type": "unsubscribe", "ts": AS_OF - 48 * H},
    {"contact_id": "c3", "event_id": "u2", "type": "unsubscribe", "ts": AS_OF - 12 * H},
    {"contact_id": "zz", "event_id": None, "type": "form_submit", "ts": AS_OF - H},  # orphan
]


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


def _by_id(rows):
    return {r["contact_id"]: r for r in rows}


def test_hand_computed_on_duckdb(model):
    con = duck(CONTACTS, EVENTS, PROPS, ATTRS)
    rows = _by_id(score_sql([model], con, as_of=AS_OF))
    assert set(rows) == {"c1", "c2", "c3"}  # the orphan event makes no row
    c1 = rows["c1"]
    assert (c1["fit"], c1["engagement"], c1["total"], c1["stage"]) == (19, 32, 51, "MQL")
    assert c1["rules_fired"] == 6 and c1["excluded"] is False
    c2 = rows["c2"]
    assert (c2["fit"], c2["engagement"], c2["total"], c2["stage"]) == (0, -5, 0, "lead")
    assert c2["rules_fired"] == 1
    c3 = rows["c3"]
    assert (c3["fit"], c3["total"], c3["stage"]) == (5, 0, None)  # 3 (vip) + 2 filled
    assert c3["excluded"] is True and c3["exclusion_reason"] == "Unsubscribed"


def test_per_contact_as_of(model):
    con = duck(CONTACTS, EVENTS, PROPS, ATTRS)
    rows = _by_id(score_sql([model], con, as_of=AS_OF, as_of_column="as_of"))
    # c1 as of 11:00: both early page views are within the hour, the demo is later
    assert (rows["c1"]["engagement"], rows["c1"]["total"], rows["c1"]["stage"]) == (4, 23, "lead")
    assert rows["c2"]["total"] == 0  # no own time: the global one


def test_reference_agrees_with_hand_computation(model):
    rows = _by_id(reference([model], CONTACTS, EVENTS, as_of=AS_OF))
    assert rows["c1"]["total"] == 51 and rows["c3"]["excluded"] is True


@pytest.mark.parametrize("as_of_column", [None, "as_of"])
def test_duckdb_matches_inprocess(model, as_of_column):
    run_all([model], CONTACTS, EVENTS, PROPS, ATTRS, as_of=AS_OF, as_of_column=as_of_column)


@pytest.mark.postgres
@pytest.mark.parametrize("as_of_column", [None, "as_of"])
def test_postgres_matches_inprocess(model, pg_url, as_of_column):
    run_all(
        [model],
        CONTACTS,
        EVENTS,
        PROPS,
        ATTRS,
        as_of=AS_OF,
        as_of_column=as_of_column,
        pg_url=pg_url,
    )


@pytest.mark.spark
def test_spark_matches_inprocess(model, spark):
    run_all([model], CONTACTS, EVENTS, PROPS, ATTRS, as_of=AS_OF, as_of_column="as_of", spark=spark)


# Repeated deliveries, the cases de-duplication must tell apart: the first delivery of
# an id decides (earliest, then smallest type), even when a later one matches a rule;
# the same id on two contacts is two events; a blank id is no id; three deliveries.
DUP_MODEL = """
name: dups
groups:
  engagement:
    rules:
      - name: Forms
        on: {type: form_submit}
        points: 10
      - name: Views
        on: {type: page_view}
        points: 1
      - name: Pricing once a day
        on: {type: page_view, url: {contains: pricing}}
        points: 5
        limit: {count: 1, per: day}
"""
T0 = AS_OF - 3 * H
DUP_EVENTS = [
    # a: 'x' first came as a view (ts earlier), its later 'form' delivery does not count
    {"contact_id": "a", "event_id": "x", "type": "page_view", "ts": T0, "url": "/"},
    {"contact_id": "a", "event_id": "x", "type": "form_submit", "ts": T0 + H, "url": "/"},
    # a: 'y' twice at the same time: the smallest type (form_submit < page_view) decides
    {"contact_id": "a", "event_id": "y", "type": "page_view", "ts": T0, "url": "/pricing"},
    {"contact_id": "a", "event_id": "y", "type": "form_submit", "ts": T0, "url": "/"},
    # b: the same ids as a's are b's own events
    {"contact_id": "b", "event_id": "x", "type": "form_submit", "ts": T0, "url": "/"},
    {"contact_id": "b", "event_id": "y", "type": "page_view", "ts": T0, "url": "/pricing"},
    # b: blank ids are no ids: both count
    {"contact_id": "b", "event_id": " ", "type": "page_view", "ts": T0, "url": "/"},
    {"contact_id": "b", "event_id": "", "type": "page_view", "ts": T0, "url": "/"},
    # c: three deliveries of one pricing view, the earliest one first in no order
    {"contact_id": "c", "event_id": "z", "type": "page_view", "ts": T0 + H, "url": "/pricing"},
    {"contact_id": "c", "event_id": "z", "type": "page_view", "ts": T0, "url": "/pricing"},
    {"contact_id": "c", "event_id": "z", "type": "page_view", "ts": T0 + 2 * H, "url": "/"},
]
DUP_CONTACTS = [{"id": cid} for cid in ("a", "b", "c")]


def test_repeated_deliveries_count_once_by_hand():
    model = load_model(DUP_MODEL)
    con = duck(DUP_CONTACTS, DUP_EVENTS, [], ATTRS)
    rows = _by_id(score_sql([model], con, as_of=AS_OF))
    # a: x is a view (1), y a form (10); b: x form (10), y pricing view (1 + 5), two views
    # with blank ids (2); c: z once, its earliest delivery, a pricing view (1 + 5)
    assert {cid: r["total"] for cid, r in rows.items()} == {"a": 11, "b": 18, "c": 6}


@pytest.mark.postgres
def test_repeated_deliveries_on_every_engine(pg_url, spark):
    model = load_model(DUP_MODEL)
    run_all([model], DUP_CONTACTS, DUP_EVENTS, [], ATTRS, as_of=AS_OF, pg_url=pg_url, spark=spark)
