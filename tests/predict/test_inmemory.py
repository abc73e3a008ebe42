"""The Python event features (one contact at a time, the service's path) give exactly
what the feature SQL of batch prediction gives, and cost little per contact."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np
import pytest

from leadscore.data.io import load_inputs
from leadscore.engine import values as V
from leadscore.predict import TrainOptions, train
from leadscore.predict import features as F
from leadscore.predict.inmemory import build_records

AS_OF = datetime(2026, 1, 31, 12, tzinfo=UTC)
CONTACTS = "id,country\na,FR\nb,US\nc,\nd,DE\n"
# edges: fractional seconds, an event exactly at as_of (counts) and just after (not),
# exactly 7 days before the cut-off (out of the 7-day window) and a microsecond later (in),
# a duplicate delivery (the SQL counts it twice: so must the Python), events without a
# page or a source, ties in time broken by event id, midnight UTC, a rare type
EVENTS = """contact_id,event_id,type,ts,url,source
a,1,page_view,2026-01-31T12:00:00Z,/pricing,google
a,2,page_view,2026-01-31T12:00:00.000001Z,/blog,ads
a,3,form_submit,2026-01-24T12:00:00Z,/demo,
a,4,form_submit,2026-01-24T12:00:00.000002Z,/demo,direct
a,4,form_submit,2026-01-24T12:00:00.000002Z,/demo,direct
b,5,page_view,2025-12-01T23:59:59.700Z,,ads
b,6,email_open,2025-12-02T00:00:00.300Z,,
b,7,page_view,2026-01-30T00:00:00Z,/blog,seo
b,8,page_view,2026-01-30T00:00:00Z,/blog,bing
d,9,webinar,2026-01-10T08:30:00.5Z,/w,partner
"""


def both(tmp_path, max_event_types=3, as_of=AS_OF):
    (tmp_path / "c.csv").write_text(CONTACTS)
    (tmp_path / "e.csv").write_text(EVENTS)
    inputs = load_inputs(tmp_path / "c.csv", tmp_path / "e.csv")
    config = F.plan(inputs, [], max_event_types=max_event_types)
    ids, sql = F.build(inputs, config, as_of)
    with (tmp_path / "e.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    with (tmp_path / "c.csv").open() as fh:
        contacts = list(csv.DictReader(fh))
    events = [
        [
            {
                **r,
                "ts": V.timestamp(r["ts"]),
                "url": V.text(r["url"]),
                "source": V.text(r["source"]),
            }
            for r in rows
            if r["contact_id"] == c["id"]
        ]
        for c in contacts
    ]
    assert [c["id"] for c in contacts] == ids
    return config, sql, build_records(config, contacts, events, as_of)


def assert_same(sql: dict, py: dict) -> None:
    assert list(sql) == list(py)
    for name in sql:
        if isinstance(sql[name], np.ndarray):
            np.testing.assert_array_equal(np.asarray(py[name], dtype=float), sql[name], name)
        else:
            assert list(py[name]) == list(sql[name]), name


def test_python_features_equal_the_sql_features_on_edge_cases(tmp_path):
    config, sql, py = both(tmp_path)
    assert "webinar" not in config.event_types  # the rare type counts only in the total
    assert_same(sql, py)
    # and by hand, for the edges the SQL and the Python must both get right
    col = lambda name: list(py[F.EVENT_PREFIX + name])  # noqa: E731
    assert col("count") == [4, 4, 0, 1]  # a: the event after as_of is out, the duplicate in
    assert col("form_submit:7d") == [2, 0, 0, 0]  # 12:00:00 exactly 7 days before: out
    assert col("form_submit:30d") == [3, 0, 0, 0]
    assert col("active_days") == [2, 3, 0, 1]
    assert col("distinct_pages") == [2, 1, 0, 1]
    assert col("first_touch_source") == ["direct", "ads", None, "partner"]
    assert col("last_touch_source") == ["google", "bing", None, "partner"]  # tie: id 8 > 7
    assert col("days_since_last")[3] == pytest.approx((21 * 86400 + 12600) / 86400)


@pytest.mark.parametrize("as_of", [AS_OF, datetime(2025, 12, 2, tzinfo=UTC)])
def test_python_features_equal_the_sql_features_at_other_times(tmp_path, as_of):
    _, sql, py = both(tmp_path, max_event_types=20, as_of=as_of)
    assert_same(sql, py)


def test_python_features_equal_the_sql_features_on_generated_contacts(synthetic):
    contacts_path, events_path = synthetic
    inputs = load_inputs(contacts_path, events_path)
    config = F.plan(inputs, ["converted", "converted_at"])
    as_of = F.resolve_as_of(None, inputs)
    _, sql = F.build(inputs, config, as_of)
    with open(contacts_path) as fh:
        contacts = sorted(csv.DictReader(fh), key=lambda r: r["id"])
    by: dict[str, list] = {}
    with open(events_path) as fh:
        for r in csv.DictReader(fh):
            by.setdefault(r["contact_id"], []).append(
                {**r, "ts": V.timestamp(r["ts"]), "url": V.text(r["url"])}
            )
    py = build_records(config, contacts, [by.get(c["id"], []) for c in contacts], as_of)
    assert_same(sql, py)


def test_one_contact_is_predicted_without_a_database(synthetic, monkeypatch):
    """The service predicts one contact per event: its features come from Python, not
    from a DuckDB query per contact (what made it cost 120 ms; benchmarks/predictive.py
    measures it)."""
    import duckdb

    contacts_path, events_path = synthetic
    model = train(
        contacts_path,
        events_path,
        TrainOptions(outcome="converted", outcome_time="converted_at", params={"max_rounds": 60}),
    )
    with open(contacts_path) as fh:
        contact = next(csv.DictReader(fh))
    with open(events_path) as fh:
        events = [r for r in csv.DictReader(fh) if r["contact_id"] == contact["id"]]

    def refuse(*args, **kwargs):
        raise AssertionError("predicting one contact opened a DuckDB connection")

    with monkeypatch.context() as m:
        m.setattr(duckdb, "connect", refuse)
        got = model.predict_contact(contact, events, "2026-03-01T00:00:00Z")
    # the same prediction as the batch path gives the contact
    assert got == model.predict_contacts([(contact, events)], "2026-03-01T00:00:00Z")[0]
